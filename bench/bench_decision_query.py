"""The decision API's lookup and call, in process: hand-compiled SQL vs SQLAlchemy Core; fast path vs Flask.

What it measures (µs per call, median of alternating rounds, one process, no HTTP):
  1. the lookup alone: `decision_query.find_decision_row` (SQL compiled once, run on the DBAPI
     cursor of an autocommit pool) against the same `select()` executed through SQLAlchemy Core on
     the same autocommit engine (`connection.execute(LOOKUP, params)`, its compiled cache);
  2. the whole call as WSGI: the fast path (portal/access/fast_api.py) with each lookup; the Flask
     view behind it; and a bare Flask app holding only the API, mounted with werkzeug's
     DispatcherMiddleware at /api/v1 (no session interface, no login, CSRF, limiter or access hooks).

Target: none of its own; it records whether Core is within a few per cent of the hand path (the
HTTP target, p99 ≤ 5 ms at 1,000 requests/s, is bench_access_api.py's).

    .venv/bin/python bench/bench_decision_query.py [--sqlite] [--people 5000] [--calls 2000] [--rounds 7]
"""
from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's portal package
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_access_api's set-up

import bench_access_api as setup  # noqa: E402


def core_lookup(token_hash: str, employee_no: str):
    """The same lookup through SQLAlchemy Core on the decision engine (one retry after a dropped connection)."""
    from sqlalchemy.exc import DBAPIError

    from portal.access.decision_query import LOOKUP, decision_engine

    engine = decision_engine()
    for attempt in (1, 2):
        try:
            with engine.connect() as connection:
                return connection.execute(LOOKUP, {"employee_no": employee_no, "token_hash": token_hash}).first()
        except DBAPIError as error:
            if attempt == 1 and error.connection_invalidated:
                continue
            raise
    return None


def portal_with_core_lookup():
    """The portal with the decision API's lookup through Core (gunicorn app of bench_access_api.py --lookup core)."""
    from portal import create_app
    from portal.access import api

    api.find_decision_row = core_lookup
    return create_app()


def bare_api_app(portal_app):
    """A Flask app with only the decision route, answering with the portal's decision_answer()."""
    from flask import Flask, jsonify, request

    from portal.access.api import decision_answer, parse_bearer
    from portal.access.systems import hash_token
    from portal.core.security import security_headers
    from portal.core.timeutil import utcnow

    api = Flask("decision_api")
    headers = security_headers(portal_app.config)

    @api.get("/access-decisions")
    def access_decision():
        token = parse_bearer(request.headers.get("Authorization"))
        with portal_app.app_context():
            code, payload, extra = decision_answer(hash_token(token), request.args.get("employee", ""),
                                                   request.args.get("system", ""), utcnow())
        response = jsonify(payload)
        response.status_code = code
        response.headers.update(extra)
        response.headers.extend(headers)
        return response

    return api


def _environ(path: str, query: str, token: str) -> dict:
    return {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1", "HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
            "wsgi.multithread": True, "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0)}


def _wsgi_call(app, environ: dict) -> bytes:
    statuses = []
    body = b"".join(app(dict(environ, **{"wsgi.input": io.BytesIO()}), lambda s, h, e=None: statuses.append(s)))
    assert statuses[0].startswith("200"), (statuses, body)
    return body


def _per_call_us(function, arguments: list, calls: int) -> float:
    started = time.perf_counter()
    for i in range(calls):
        function(*arguments[i % len(arguments)])
    return (time.perf_counter() - started) / calls * 1e6


def main() -> int:
    """Build the data, time each variant in alternating rounds, print µs per call."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite file instead of PostgreSQL")
    parser.add_argument("--calls", type=int, default=2000, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-decision-query-"))
    url = setup._database(args, folder)
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SECRET_KEY": "bench", "PORTAL_INSECURE_HTTP": "1",
           "PORTAL_MAIL_DIR": str(folder / "mail")}
    try:
        setup._portal(env, "init")
        setup._portal(env, "demo", "--people", str(args.people))
        sample, _refresh = setup._seed(url, 0.5)
        token = setup._portal(env, "systems", "token", "bench", "--name", "bench").strip().splitlines()[-1]
        figures = _measure(url, token, sample, args)
    finally:
        setup._drop(args)
        shutil.rmtree(folder, ignore_errors=True)
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    load = os.getloadavg()
    print(f"{backend}, {args.people:,} people, {args.rounds} rounds × {args.calls} calls, "
          f"load average {load[0]:.1f} on {os.cpu_count()} CPUs")
    for label, values in figures.items():
        print(f"{label}: {statistics.median(values):.0f} µs per call (rounds {min(values):.0f}–{max(values):.0f})")
    hand, core = statistics.median(figures["lookup, hand-compiled"]), statistics.median(figures["lookup, Core"])
    print(f"Core / hand lookup: {core / hand:.2f}× (figures only; no target)")
    return 0


def _measure(url: str, token: str, sample: list[str], args) -> dict[str, list[float]]:
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from portal import create_app
    from portal.access import api
    from portal.access.decision_query import find_decision_row
    from portal.access.systems import hash_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "PORTAL_MAIL_DIR": tempfile.mkdtemp()})
    token_hash = hash_token(token)
    lookups = [(token_hash, no) for no in sample]
    environs = [(_environ("/api/v1/access-decisions", f"system=bench&employee={no}", token),) for no in sample]
    fast, flask_view = app.wsgi_app, app.wsgi_app.wsgi_app
    mounted = DispatcherMiddleware(flask_view, {"/api/v1": bare_api_app(app)})

    def with_lookup(lookup, call):
        def run(*arguments):
            api.find_decision_row = lookup
            try:
                return call(*arguments)
            finally:
                api.find_decision_row = find_decision_row
        return run

    variants = {
        "lookup, hand-compiled": (find_decision_row, lookups),
        "lookup, Core": (core_lookup, lookups),
        "WSGI fast path, hand lookup": (lambda e: _wsgi_call(fast, e), environs),
        "WSGI fast path, Core lookup": (with_lookup(core_lookup, lambda e: _wsgi_call(fast, e)), environs),
        "Flask view (whole portal app)": (lambda e: _wsgi_call(flask_view, e), environs),
        "bare Flask app via DispatcherMiddleware, Core lookup": (
            with_lookup(core_lookup, lambda e: _wsgi_call(mounted, e)), environs),
    }
    figures: dict[str, list[float]] = {label: [] for label in variants}
    with app.app_context():
        assert find_decision_row(*lookups[0]) == tuple(core_lookup(*lookups[0]))
        for function, arguments in variants.values():
            _per_call_us(function, arguments, 200)  # warm up: connections, compiled caches
        for _round in range(args.rounds):
            for label, (function, arguments) in variants.items():
                figures[label].append(_per_call_us(function, arguments, args.calls))
    return figures


if __name__ == "__main__":
    sys.exit(main())
