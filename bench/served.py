"""The portal served by gunicorn on 127.0.0.1 for benchmarks, and a signed-in HTTP client for it.

Used by bench/bench_dashboards.py and bench/bench_training_submit.py: a real server (not the
test client), so the figures include WSGI, sessions, templates and the database as production
has them. Requests go to loopback only. cpu_seconds() reads what the server's processes (and
PostgreSQL's backends on this machine) spent, so a figure per request survives a busy machine.
"""
from __future__ import annotations

import contextlib
import dataclasses
import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

GUNICORN = Path(sys.executable).with_name("gunicorn")
#: The repository's gunicorn settings, as `make run` and production use them.
CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass(frozen=True)
class Served:
    """A running gunicorn: its base URL, port and master process."""

    base: str
    port: int
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        """The master's worker processes (children)."""
        return _children(self.process.pid)


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int = 2, threads: int = 1):
    """Yield the base URL of the portal served by gunicorn on the database; stop it afterwards."""
    with serve(database_url, workers, threads) as served:
        yield served.base


@contextlib.contextmanager
def serve(database_url: str, workers: int = 2, threads: int = 1, *, app: str = "portal:create_app()",
          env: dict | None = None, options: tuple[str, ...] = ()):
    """Yield a Served portal (the repository's gunicorn.conf.py, gthread workers when threads > 1)."""
    port = _free_port()
    env = {**os.environ, "PORTAL_DATABASE_URL": database_url, "PORTAL_SECRET_KEY": "bench-secret",
           "PORTAL_INSECURE_HTTP": "1", **(env or {})}
    process = subprocess.Popen(
        [str(GUNICORN), "--config", str(CONFIG), "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), "--log-level", "warning", *options, app], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield Served(base, port, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    """Child process ids of a process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def cpu_seconds(pids) -> dict[int, float]:
    """User + system CPU seconds each process (all its threads) has used so far; missing ones are left out."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)
    return used


def machine_cpu() -> dict[str, int]:
    """The machine's CPU time so far, in ticks, by kind (the first line of /proc/stat); {} elsewhere."""
    try:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:9]]
    except OSError:
        return {}
    return dict(zip(("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"), values))


def machine_cpu_shares(before: dict[str, int], after: dict[str, int]) -> str:
    """How the machine's CPUs spent an interval: busy (user, system, interrupts), idle, taken by the host (steal)."""
    spent = {kind: after[kind] - before[kind] for kind in before}
    total = sum(spent.values()) or 1
    user = spent["user"] + spent["nice"]
    idle = spent["idle"] + spent["iowait"]
    total_busy = total - idle - spent.get("steal", 0)
    return (f"machine busy {100 * total_busy / total:.0f}% (user {100 * user / total:.0f}%, "
            f"system {100 * spent['system'] / total:.0f}%, "
            f"interrupts {100 * (spent['irq'] + spent['softirq']) / total:.0f}%), "
            f"idle {100 * idle / total:.0f}%, taken by the host (steal) {100 * spent.get('steal', 0) / total:.0f}%")


class Browser:
    """Cookies and a CSRF-aware sign-in, over urllib."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[int, bytes]:
        """GET a path; (status, body)."""
        with self.opener.open(self.base + path, timeout=60) as response:
            return response.status, response.read()

    def sign_in(self, employee_no: str, password: str) -> None:
        """Sign in through the real form."""
        _status, page = self.get("/login")
        token = re.search(rb'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1).decode()
        data = urllib.parse.urlencode({"employee_no": employee_no, "password": password, "csrf_token": token})
        with self.opener.open(self.base + "/login", data=data.encode(), timeout=60) as response:
            if "/login" in response.url:
                raise SystemExit(f"sign-in as {employee_no} failed")

    def timed(self, path: str, runs: int, warmup: int = 20) -> list[float]:
        """Milliseconds per GET, after a warm-up that reaches every worker (every response must be 200)."""
        for _ in range(warmup):
            self.get(path)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            status, _body = self.get(path)
            times.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
        return times


def percentile(values: list[float], fraction: float) -> float:
    """The value at a fraction (0.95 = p95) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]
