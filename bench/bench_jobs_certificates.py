"""Everyone's certificates as a job, end to end, with 1 and then 2 consumers (`portal worker --workers 1`)
in the same run on the same data: synthetic attestations (one manual each, 1 in 100 names has 𠮷),
SQLite database and SQLite queue (--postgres: PostgreSQL database; --queue redis://…: Redis queue):

    .venv/bin/python bench/bench_jobs_certificates.py [--people 3000] [--consumers 1,2] [--postgres] [--kill]

Targets: 2 consumers make ≥ 1.8× the certificates a minute of 1 consumer (same run); each
consumer's peak memory (VmHWM) ≤ 300 MB; progress written at least every 5 s. Printed beside
them, because the machine is shared and wall-clock figures follow its load: the consumers' CPU
per certificate (their start-up, measured before the job is announced, apart), how many cores
they and everything else on the machine used, how long the plan, the work (with 2, 1 or no part
running) and the final join took, and the time 50,000 people would take at the measured rates.
--kill: with 2 consumers, kill -9 one of them at about 40% and start another; the ZIP must still
hold every certificate once, every PDF opening (pdfinfo) and the manifest matching. Exit 1 when a
target is missed.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from bench_certificates import _attestations, _kib_fields, _load
from training_synthetic import bench_app, exit_cleanly_on_sigterm, fresh_database, insert_people, postgres_available

PORTAL = Path(sys.executable).with_name("portal")
SPEED_UP_TARGET = 1.8
MEMORY_TARGET_MB = 300
PROGRESS_TARGET_S = 5.0
WHOLE_ORGANISATION = 50_000


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, /proc/stat: everything but idle and iowait)."""
    with open("/proc/stat") as handle:
        ticks = [int(value) for value in handle.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _consumer(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(PORTAL), "worker", "--workers", "1"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def _wait_until_ready(processes: list[subprocess.Popen]) -> None:
    """Until each consumer has started (imports, app, catch-up: it prints "catch-up: …"); its output is
    drained afterwards so that it never blocks on a full pipe."""
    for process in processes:
        for line in process.stdout:
            if line.startswith("catch-up:"):
                break
        threading.Thread(target=process.stdout.read, daemon=True).start()


class Timeline:
    """What the poller saw: how long the job spent planning, with 2/1/0 work parts running, joining."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.last_change = self.last_seen = None
        self.longest_gap = 0.0

    def add(self, phase: str, seconds: float) -> None:
        """`seconds` more spent in `phase`."""
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def progress(self, seen, now: float) -> None:
        """The job row's (done, heartbeat) as polled: a change is a progress update."""
        if self.last_change is None or seen != self.last_seen:
            if self.last_change is not None:
                self.longest_gap = max(self.longest_gap, now - self.last_change)
            self.last_change, self.last_seen = now, seen

    def summary(self) -> str:
        """'plan 0.4 s, 2 parts running 30.1 s, …'."""
        return ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in self.seconds.items() if seconds >= 0.05)


def _phase(job, parts: list[tuple[int, str]]) -> str:
    from portal.jobs.models import FINISH, PLAN, WORK

    if job.state == "queued" or any(stage == PLAN and state != "done" for stage, state in parts):
        return "plan"
    running = sum(1 for stage, state in parts if stage == WORK and state == "running")
    if any(stage == FINISH and state == "running" for stage, state in parts):
        return "join"
    return f"{running} parts running" if running != 1 else "1 part running"


def _run(url: str, queue: str, consumers: int, folder: Path, kill: bool) -> dict:
    """Start the consumers, then the job; run until it is done; figures."""
    from sqlalchemy import select

    from portal.certificates.jobs import start_certificate_export
    from portal.extensions import db
    from portal.jobs.models import Job, JobPart
    from portal.jobs.services import announce_job

    files = folder / f"files-{consumers}"
    name = f"bench-{os.getpid()}-{consumers}"  # a queue of its own, also in a shared Redis
    app = bench_app(url, PORTAL_JOBS_URL=queue, PORTAL_FILES_DIR=str(files), PORTAL_JOBS_NAME=name)
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench", "PORTAL_JOBS_URL": queue,
           "PORTAL_FILES_DIR": str(files), "PORTAL_JOBS_LEASE_SECONDS": "10", "PORTAL_JOBS_NAME": name}
    processes = [_consumer(env) for _ in range(consumers)]
    _wait_until_ready(processes)
    startup = {p.pid: _cpu_seconds(p.pid) for p in processes}
    peaks, cpu, timeline, killed = {}, dict(startup), Timeline(), False
    with app.app_context():
        try:
            job = start_certificate_export(None, None, "bench")
            db.session.commit()
            job_id = job.id
            busy, started = _machine_busy_seconds(), time.perf_counter()
            announce_job(job_id)
            last = started
            while True:
                time.sleep(0.1)
                db.session.rollback()
                job = db.session.get(Job, job_id, populate_existing=True)
                parts = db.session.execute(select(JobPart.stage, JobPart.state).where(JobPart.job_id == job_id)).all()
                now = time.perf_counter()
                timeline.add(_phase(job, parts), now - last)
                last = now
                for process in processes:
                    if process.poll() is None:
                        peaks[process.pid] = _kib_fields(f"/proc/{process.pid}/status", ("VmHWM",)).get("VmHWM", 0)
                        cpu[process.pid] = _cpu_seconds(process.pid)
                if job.state == "running":
                    timeline.progress((job.done, job.heartbeat_at), now)
                if kill and not killed and job.total and job.done >= 0.4 * job.total:
                    processes[0].send_signal(signal.SIGKILL)
                    processes[0].wait()
                    processes.append(_consumer(env))
                    threading.Thread(target=processes[-1].stdout.read, daemon=True).start()  # never blocks
                    killed = True
                if job.state in ("done", "failed") or now - started > 24 * 3600:
                    break
            elapsed = time.perf_counter() - started
            busy = _machine_busy_seconds() - busy
        finally:
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait()
        result = db.session.scalar(select(Job).where(Job.id == job_id))
        work_cpu = sum(cpu.values()) - sum(startup.values())
        return {"state": result.state, "done": result.done, "elapsed": elapsed,
                "per_minute": result.done / elapsed * 60, "peak_mb": max(peaks.values(), default=0) / 1024,
                "cpu_ms": work_cpu / max(result.done, 1) * 1000,
                "startup_s": sum(startup.values()) / len(startup), "cores_ours": work_cpu / elapsed,
                "cores_others": max(busy - work_cpu, 0) / elapsed, "gap": timeline.longest_gap,
                "timeline": timeline.summary(), "zip": files / result.result_path if result.result_path else None}


def _check_zip(path: Path, expected: int, every: int) -> str:
    """'' when every certificate is there once, the PDFs open (every `every`-th is opened with pdfinfo)
    and the manifest matches; else what is wrong."""
    archive = zipfile.ZipFile(path)
    pdfs = [name for name in archive.namelist() if name.endswith(".pdf")]
    if len(pdfs) != expected or len(set(pdfs)) != expected:
        return f"{len(pdfs)} PDFs ({len(set(pdfs))} distinct), expected {expected}"
    for name in pdfs[::every]:
        if subprocess.run(["pdfinfo", "-"], input=archive.read(name), capture_output=True).returncode != 0:
            return f"{name} does not open"
    manifest = list(csv.reader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
    return "" if sorted(row[0] for row in manifest[1:]) == sorted(pdfs) else "manifest differs from the PDFs"


def _report(consumers: int, run: dict, expected: int, every: int, killed: bool) -> bool:
    """Print one run's figures; True when its memory, progress and ZIP are right."""
    problem = _check_zip(run["zip"], expected, every) if run["zip"] else run["state"]
    opened = "every PDF opens" if every == 1 else f"every {every}th PDF opens"
    memory_ok, gap_ok = run["peak_mb"] <= MEMORY_TARGET_MB, run["gap"] <= PROGRESS_TARGET_S
    print(f"{consumers} consumer(s): {run['done']} certificates in {run['elapsed']:.1f} s = "
          f"{run['per_minute']:.0f} a minute; CPU {run['cpu_ms']:.1f} ms a certificate (start-up "
          f"{run['startup_s']:.1f} s a consumer, apart); peak {run['peak_mb']:.0f} MB per consumer "
          f"({'ok' if memory_ok else 'TOO MUCH'}; target ≤ {MEMORY_TARGET_MB} MB); longest wait for progress "
          f"{run['gap']:.1f} s ({'ok' if gap_ok else 'TOO SLOW'}; target ≤ {PROGRESS_TARGET_S:.0f} s); ZIP "
          f"{problem or f'complete and valid ({opened}, manifest matches)'}"
          f"{' after kill -9 of a consumer' if killed else ''}", flush=True)
    print(f"  cores used: consumers {run['cores_ours']:.2f}, everything else on the machine "
          f"{run['cores_others']:.2f} (of {os.cpu_count()}); {run['timeline']}; {_load()}", flush=True)
    return not problem and memory_ok and gap_ok


def _estimate(runs: dict[int, dict]) -> None:
    """What 50,000 people (one manual each) would take at the rates measured here."""
    for consumers, run in runs.items():
        print(f"  {WHOLE_ORGANISATION:,} people at the rate of {consumers} consumer(s) here: "
              f"{WHOLE_ORGANISATION / run['per_minute']:.0f} min; on {consumers} free core(s) at this CPU per "
              f"certificate: {WHOLE_ORGANISATION * run['cpu_ms'] / 1000 / consumers / 60:.0f} min", flush=True)


def main() -> int:
    """Run the benchmark; 0 when every target is met."""
    exit_cleanly_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", "--certificates", dest="people", type=int, default=3000,
                        help="people, each with one certificate (50000: the whole organisation; hours here)")
    parser.add_argument("--consumers", default="1,2", help="the runs, by number of consumers (e.g. 2)")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL database instead of SQLite")
    parser.add_argument("--queue", default="", help="redis://… queue instead of a SQLite file")
    parser.add_argument("--kill", action="store_true", help="kill -9 a consumer mid-export (2 consumers)")
    args = parser.parse_args()
    counts = [int(n) for n in args.consumers.split(",")]
    if args.postgres and not postgres_available():
        print("PostgreSQL does not answer: nothing measured", flush=True)
        return 1
    every = 1 if args.people <= 5000 else 50
    ok = True
    with fresh_database("postgres" if args.postgres else "sqlite") as url, tempfile.TemporaryDirectory() as folder:
        with bench_app(url).app_context():
            insert_people(args.people, max(args.people // 250, 1))
            _attestations(args.people)
        print(f"{args.people} certificates; database {'PostgreSQL' if args.postgres else 'SQLite'}, queue "
              f"{args.queue or 'SQLite'}; {os.cpu_count()} CPUs; {_load()}", flush=True)
        runs = {}
        for n in counts:
            queue = args.queue or f"sqlite:///{Path(folder) / f'queue-{n}.sqlite3'}"
            runs[n] = _run(url, queue, n, Path(folder), kill=args.kill and n == 2)
            ok = _report(n, runs[n], args.people, every, args.kill and n == 2) and ok
        if 1 in runs and 2 in runs:
            ratio = runs[2]["per_minute"] / runs[1]["per_minute"]
            cpu_ratio = 2 * runs[1]["cpu_ms"] / runs[2]["cpu_ms"]
            ok = ok and ratio >= SPEED_UP_TARGET
            print(f"2 consumers ÷ 1 consumer: {ratio:.2f}× ({'ok' if ratio >= SPEED_UP_TARGET else 'TOO SLOW'}; "
                  f"target ≥ {SPEED_UP_TARGET}×); by CPU per certificate, 2 free cores would give {cpu_ratio:.2f}×",
                  flush=True)
        _estimate(runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
