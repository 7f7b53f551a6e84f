"""The decision API under gunicorn (2 workers) on the 50,000-person demo.

Targets: throughput of GET /api/v1/access-decisions ≥ 80% of GET /healthz on the same
server, and p99 ≤ 5 ms at 1,000 requests a second. wrk runs from the same machine.

  1. a fresh PostgreSQL database (or --sqlite): `portal init`, `portal demo --people 50000`;
  2. a protected system requiring one manual; training current for the people granted; grants for
     --share of the people (bulk rows, as the services would leave them), then
     refresh_access_decisions() over all of them (timed: the set-based refresh);
  3. a token from `portal systems token bench` (its last line);
  4. gunicorn --workers 2 on a free port, with the repository's gunicorn.conf.py; by default
     gthread workers with one thread each: they keep connections alive, as the protected system's
     HTTP client will (sync workers close every connection: at 1,000 calls a second the caller
     would open 1,000 connections a second and hold ~60,000 in TIME_WAIT);
  5. wrk, closed loop, 16 connections, alternating /healthz and the decision API (rotating 2,000
     employees, Authorization: Bearer …) for --rounds rounds; the median ratio of requests/s;
  6. p99 at 1,000 requests/s, open loop (bench/open_loop.py): request i leaves at start + i/1000 s
     whatever happened before, and its latency counts from that moment (what wrk2's -R does).
     wrk's delay() is not used for this: it is a closed loop, so a stall delays the next requests
     instead of showing in them (coordinated omission), the rate falls as latency rises, and the
     connections' fixed 20 ms pauses make bursts. Its figure is printed too, for comparison.

    .venv/bin/python bench/bench_access_api.py [--people 50000] [--share 0.5] [--sqlite] [--duration 6] [--rounds 5]
        [--worker-class gthread|sync] [--threads 1] [--workers 2] [--lookup hand|core]

Needs wrk (apt-get install -y wrk). The load generators run on the same 2 cores as the server, and so
does anything else on the machine: the load average is printed at the start and the end.
"""
from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's portal package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # open_loop

from open_loop import paced  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_RATIO, TARGET_P99_MS, TARGET_RATE = 0.80, 5.0, 1000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database(args, folder: Path) -> str:
    """A fresh database URL: a new PostgreSQL database, or a SQLite file."""
    if args.sqlite:
        return f"sqlite:///{folder / 'bench.sqlite3'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL")
                    or DEFAULT_POSTGRES)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "portal_bench_access" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "portal_bench_access"'))
    engine.dispose()
    return base.set(database="portal_bench_access").render_as_string(hide_password=False)


def _drop(args) -> None:
    """Drop the benchmark's PostgreSQL database (the SQLite file goes with the temporary folder)."""
    if args.sqlite:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("PORTAL_BENCH_POSTGRES_URL") or os.environ.get("PORTAL_TEST_POSTGRES_URL")
                    or DEFAULT_POSTGRES)
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "portal_bench_access" WITH (FORCE)'))
    engine.dispose()


def _portal(env: dict, *args: str) -> str:
    result = subprocess.run([str(BIN / "portal"), *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"portal {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _seed(url: str, share: float) -> tuple[list[str], float]:
    """System, manual, training and grants for a share of the people; returns (employee sample, refresh s)."""
    from sqlalchemy import insert, select, update

    from portal import create_app
    from portal.access.models import AccessEvent, AccessGrant, AccessRequest
    from portal.access.refresh import refresh_access_decisions
    from portal.access.systems import SystemData, save_system
    from portal.core.timeutil import utcnow
    from portal.extensions import db
    from portal.manuals.models import Manual, ManualEdition, TrainingAssignment
    from portal.org.models import Person, PersonRole
    from portal.training.models import TrainingProgress

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        now = utcnow()
        people = db.session.execute(select(Person.id, Person.employee_no).order_by(Person.id)).all()
        owner_id = people[-1].id
        db.session.add(PersonRole(person_id=owner_id, role="grant_owner"))
        manual = Manual(slug="bench-handbook", title_ja="ベンチマーク用マニュアル", title_en="Bench handbook")
        db.session.add(manual)
        db.session.flush()
        edition = ManualEdition(manual_id=manual.id, number=1, change_kind="material", effective_date=date.today(),
                                source_text="# bench", content_hash="0" * 64, html="<h1>bench</h1>",
                                audience_json='{"everyone": true}', days_allowed=30, validity_months=12)
        db.session.add(edition)
        db.session.commit()
        system = save_system(None, SystemData(code="bench", name_ja="ベンチ用システム", purposes=["ベンチマーク"],
                                              manual_slugs=["bench-handbook"],
                                              grant_owner_nos=[people[-1].employee_no]))
        db.session.commit()
        rng = random.Random(6)
        granted = [p for p in people[:-1] if rng.random() < share]
        for start in range(0, len(granted), 5000):
            chunk = granted[start:start + 5000]
            db.session.execute(insert(TrainingAssignment), [
                {"person_id": p.id, "manual_id": manual.id, "since_edition_id": edition.id,
                 "due_date": date.today() + timedelta(days=30), "assigned_at": now} for p in chunk])
            db.session.execute(insert(TrainingProgress), [
                {"person_id": p.id, "manual_id": manual.id, "attested_edition_id": edition.id,
                 "attested_edition_number": 1, "attested_at": now, "started_edition_number": 1, "updated_at": now}
                for p in chunk])
            ids = db.session.execute(insert(AccessRequest).returning(AccessRequest.id, AccessRequest.person_id), [
                {"system_id": system.id, "person_id": p.id, "purpose": "ベンチマーク",
                 "explanation": "ベンチマーク用の申請",
                 "status": "granted", "requested_at": now, "expires_at": now + timedelta(days=14),
                 "training_gaps_json": "[]", "approval_reason": "", "decision_reason": "", "decided_at": now,
                 "decided_by_id": owner_id} for p in chunk]).all()
            grants = db.session.execute(insert(AccessGrant).returning(AccessGrant.id, AccessGrant.request_id), [
                {"request_id": request_id, "system_id": system.id, "person_id": person_id, "granted_by_id": owner_id,
                 "granted_at": now, "expires_at": now + timedelta(days=180), "state": "in_force",
                 "suspension_json": "[]", "revoke_reason": "", "cap_overridden": False}
                for request_id, person_id in ids]).all()
            db.session.execute(insert(AccessEvent), [
                {"request_id": request_id, "grant_id": grant_id, "kind": "granted", "state_after": "in_force",
                 "occurred_at": now, "recorded_at": now, "reason": "", "details_json": "{}"}
                for grant_id, request_id in grants])
        db.session.commit()
        started = time.perf_counter()
        refresh_access_decisions()
        db.session.commit()
        refresh_seconds = time.perf_counter() - started
        # A few inactive people, to have every answer in the mix.
        db.session.execute(update(Person).where(Person.id.in_([p.id for p in people[:50]])).values(active=False))
        refresh_access_decisions([p.id for p in people[:50]])
        db.session.commit()
        sample = [p.employee_no for p in rng.sample(people, 2000)]
        db.engine.dispose()
    return sample, refresh_seconds


LUA_ROTATE = """
local employees = {%s}
local token = "%s"
local i = 0
request = function()
  i = i + 1
  local no = employees[(i %% #employees) + 1]
  return wrk.format("GET", "/api/v1/access-decisions?system=bench&employee=" .. no,
                    {["Authorization"] = "Bearer " .. token})
end
%s
"""
LUA_DELAY = "delay = function() return %d end"


def _wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> tuple[float, dict[str, float], str]:
    """Run wrk; returns (requests/s, latency percentiles in ms, raw output)."""
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    percentiles = {}
    for label, value, unit in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", output, re.M):
        percentiles[label] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non2xx:
        raise SystemExit(f"wrk saw {non2xx.group(1)} error responses:\n{output}")
    return rate, percentiles, output


def main() -> int:
    """Build the data, start gunicorn, measure; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=50_000)
    parser.add_argument("--share", type=float, default=0.5, help="share of people holding a grant")
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    parser.add_argument("--duration", type=int, default=6, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="alternating /healthz and decision runs")
    parser.add_argument("--worker-class", default="gthread", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=1, help="threads per gthread worker")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="requests/s of the open-loop run")
    parser.add_argument("--lookup", default="hand", choices=("hand", "core"),
                        help="the API's lookup: decision_query.py's, or SQLAlchemy Core (bench_decision_query.py)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk): SKIPPED")
        return 1
    folder = Path(tempfile.mkdtemp(prefix="bench-access-"))
    load_at_start = os.getloadavg()
    url = _database(args, folder)
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSECURE_HTTP": "1",
           "PORTAL_MAIL_DIR": str(folder / "mail")}
    started = time.perf_counter()
    _portal(env, "init")
    _portal(env, "demo", "--people", str(args.people))
    print(f"demo of {args.people} people loaded in {time.perf_counter() - started:.1f} s "
          f"({'SQLite' if args.sqlite else 'PostgreSQL'})")
    sample, refresh_seconds = _seed(url, args.share)
    print(f"refresh_access_decisions() over {int(args.people * args.share):,} grants: {refresh_seconds:.1f} s")
    token = _portal(env, "systems", "token", "bench", "--name", "bench").strip().splitlines()[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
               "--worker-class", args.worker_class, "--log-level", "warning",
               "portal:create_app()" if args.lookup == "hand" else "bench_decision_query:portal_with_core_lookup()"]
    if args.lookup == "core":
        env["PYTHONPATH"] = str(ROOT / "bench")
    if args.worker_class == "gthread":
        command[5:5] = ["--threads", str(args.threads)]
    server = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not start")
        rotate = folder / "rotate.lua"
        rotate.write_text(LUA_ROTATE % (", ".join(f'"{n}"' for n in sample), token, ""))
        paced_script = folder / "paced.lua"
        paced_script.write_text(LUA_ROTATE % (", ".join(f'"{n}"' for n in sample), token, LUA_DELAY % 20))
        with urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/v1/access-decisions?system=bench&employee={sample[0]}",
                headers={"Authorization": f"Bearer {token}"})) as response:
            print(f"sample answer: {response.read().decode()}")
        _wrk(base + "/healthz", 3, 16)  # warm up both workers
        _wrk(base + "/", 3, 16, rotate)
        # Alternate short runs so that a change in the machine's load hits both alike.
        healths, decisions = [], []
        for _round in range(args.rounds):
            healths.append(_wrk(base + "/healthz", args.duration, 16)[0])
            decisions.append(_wrk(base + "/", args.duration, 16, rotate)[0])
        health, decision = sum(healths) / len(healths), sum(decisions) / len(decisions)
        ratios = sorted(d / h for d, h in zip(decisions, healths))
        ratio = ratios[len(ratios) // 2]
        wrk_rate, wrk_percentiles, _raw = _wrk(base + "/", args.duration * 2, 24, paced_script)
        targets = [(f"/api/v1/access-decisions?system=bench&employee={n}", {"Authorization": f"Bearer {token}"})
                   for n in sample]
        paced(base, targets, args.rate // 2, 2)  # warm up the connections
        open_loop = paced(base, targets, args.rate, args.duration * 2)
        load = os.getloadavg()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        _drop(args)
        shutil.rmtree(folder, ignore_errors=True)
    p99 = open_loop["p99"]
    errors = sum(count for status, count in open_loop["statuses"].items() if status != 200)
    ok_ratio = ratio >= TARGET_RATIO
    ok_p99 = p99 <= TARGET_P99_MS and open_loop["completed_rate"] >= 0.95 * TARGET_RATE and not errors
    workers = f"{args.workers} {args.worker_class} workers" + (
        f" × {args.threads} thread{'s' if args.threads > 1 else ''}" if args.worker_class == "gthread" else "")
    print(f"load average at the start: {load_at_start[0]:.1f} (1 min), {load_at_start[1]:.1f} (5 min) "
          f"on {os.cpu_count()} CPUs")
    print(f"/healthz: {health:,.0f} requests/s (wrk, 16 connections, {args.rounds} × {args.duration} s, "
          f"gunicorn {workers})")
    print(f"decision API ({args.lookup} lookup): {decision:,.0f} requests/s")
    print(f"throughput ratio (median of {args.rounds} alternating rounds): {ratio:.0%} "
          f"[{', '.join(f'{r:.0%}' for r in ratios)}] "
          f"({'ok' if ok_ratio else 'TOO SLOW'}; target ≥ {TARGET_RATIO:.0%})")
    print(f"load average at the end: {load[0]:.1f} on {os.cpu_count()} CPUs "
          "(other work on the machine skews absolute figures)")
    print(f"for comparison, wrk closed loop with delay() (24 connections, 20 ms pauses): {wrk_rate:,.0f} requests/s, "
          f"p50 {wrk_percentiles.get('50', 0):.2f} ms, p99 {wrk_percentiles.get('99', 0):.2f} ms (not the target "
          f"figure)")
    print(f"open loop at {args.rate:,} requests/s for {args.duration * 2} s: "
          f"{open_loop['completed_rate']:,.0f} answered/s, "
          f"{errors} errors; latency from the scheduled moment p50 {open_loop['p50']:.2f} ms, "
          f"p90 {open_loop['p90']:.2f} ms, p99 {p99:.2f} ms, p99.9 {open_loop['p99.9']:.2f} ms, "
          f"max {open_loop['max']:.1f} ms; "
          f"generator late by up to {open_loop['max_lag_ms']:.1f} ms, {open_loop['connections']} connections, "
          f"generator CPU {open_loop['generator_cpu_s']:.1f} s "
          f"({'ok' if ok_p99 else 'TOO SLOW'}; target p99 ≤ {TARGET_P99_MS} ms at {TARGET_RATE} requests/s)")
    return 0 if ok_ratio and ok_p99 else 1


if __name__ == "__main__":
    sys.exit(main())
