"""A manual page under gunicorn (2 workers): median ≤ 50 ms. Also prints the comparison page.

    .venv/bin/python bench/bench_manuals_page.py [--requests N] [--port P]

Loads the demo (organisation + the repository's manuals) into a fresh SQLite file, starts gunicorn on
a free local port, signs in as the demo employee E1001 and GETs the current edition N times.
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent
TARGET_MS = 50.0
PAGES = {
    "manual page (current edition)": "/manuals/partner-subscriber-information",
    "comparison page (edition 1 → 2)": "/manuals/partner-subscriber-information/compare?from=1&to=2",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(base: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not start")


def _sign_in(opener, base: str) -> None:
    with opener.open(base + "/login") as response:
        page = response.read().decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"employee_no": "E1001", "password": "demo-password-2026",
                                   "csrf_token": token}).encode()
    with opener.open(base + "/login", data=form) as response:
        if "/login" in response.geturl():
            raise SystemExit("sign-in failed")


def _time_gets(opener, url: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        began = time.perf_counter()
        with opener.open(url) as response:
            response.read()
            assert response.status == 200
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def main() -> int:
    """Start gunicorn, sign in, time the pages; exit 1 when the manual page's median misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    port = args.port or _free_port()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "PORTAL_DATABASE_URL": f"sqlite:///{Path(folder) / 'bench.sqlite3'}",
               "PORTAL_SECRET_KEY": "bench", "PORTAL_INSECURE_HTTP": "1"}
        for command in (["init"], ["demo"]):
            subprocess.run([str(BIN / "portal"), *command], env=env, check=True, capture_output=True)
        server = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                   "portal:create_app()"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_until_up(base)
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            _sign_in(opener, base)
            ok = True
            for label, path in PAGES.items():
                _time_gets(opener, base + path, 10)  # warm both workers
                timings = sorted(_time_gets(opener, base + path, args.requests))
                median = statistics.median(timings)
                p95 = timings[int(len(timings) * 0.95) - 1]
                checked = path == PAGES["manual page (current edition)"]
                verdict = ("ok" if median <= TARGET_MS else "TOO SLOW") if checked else "info"
                ok &= verdict != "TOO SLOW"
                print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms over {args.requests} GETs "
                      f"({verdict}" + (f"; target median ≤ {TARGET_MS:.0f} ms)" if checked else ")"), flush=True)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
