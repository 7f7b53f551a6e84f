"""PDF rendering through portal/core/pdf.py: median CPU ≤ 250 ms for a 2-page instruction record
(32 recipients), and memory that stops growing (≤ 16 MiB more over the second half of the renders).

    .venv/bin/python bench/bench_pdf.py [--renders N]

Loads the demo into a fresh SQLite file, downloads the demo instruction's record once as M2001
(the real route, so the HTML is the real one), then renders that HTML N more times in-process.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_CPU_MS = 250.0
TARGET_GROWTH_MIB = 16.0


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1048576


def _record_html(folder: str) -> str:
    from flask import render_template
    from sqlalchemy import select

    from portal import create_app
    from portal.core.i18n import current_locale
    from portal.core.timeutil import utcnow
    from portal.extensions import db
    from portal.instructions import queries, rules
    from portal.instructions.models import Instruction
    from portal.org.models import Person

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3", "SECRET_KEY": "bench",
                      "PORTAL_MAIL_DIR": f"{folder}/mail"})
    runner = app.test_cli_runner()
    for command in (["init"], ["demo"]):
        result = runner.invoke(args=command)
        if result.exit_code:
            raise SystemExit(result.output)
    with app.test_request_context():
        viewer = db.session.scalar(select(Person).where(Person.employee_no == "M2001"))
        instruction = db.session.scalars(select(Instruction)).first()
        facts = queries.instruction_facts(instruction)
        rows = queries.recipient_rows(instruction, None, viewer)
        status = rules.instruction_status(instruction.acknowledge_by, queries.today_jst(), facts["recipients"],
                                          facts["acknowledged"], False)
        html = render_template("instructions/pdf_record.html", instruction=instruction, facts=facts, rows=rows,
                               progress=rules.progress_by_department(rows), status=status, partial=False,
                               viewer=viewer, generated_at=utcnow(), locale=current_locale())
        db.engine.dispose()
    return html


def main() -> int:
    """Render the record N times; exit 1 when the median or the memory growth misses its target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=400)
    args = parser.parse_args()
    from portal.instructions.export_views import _render as render_pdf

    with tempfile.TemporaryDirectory() as folder:
        html = _record_html(folder)
    first = render_pdf(html)  # warm-up: fonts and the stylesheet load once per process
    timings, cpu, halfway_rss = [], [], None
    for index in range(args.renders):
        began, began_cpu = time.perf_counter(), time.process_time()
        render_pdf(html)
        timings.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
        if index == args.renders // 2:
            halfway_rss = _rss_mib()
    median_cpu = statistics.median(cpu)
    growth = _rss_mib() - (halfway_rss or 0)
    ok_time, ok_memory = median_cpu <= TARGET_CPU_MS, growth <= TARGET_GROWTH_MIB
    print(f"instruction record PDF ({len(first) // 1024} KiB, {html.count('<tr>')} table rows), {args.renders} "
          f"renders: CPU median {median_cpu:.1f} ms ({'ok' if ok_time else 'TOO SLOW'}; target ≤ "
          f"{TARGET_CPU_MS:.0f} ms)")
    print(f"wall time: median {statistics.median(timings):.1f} ms, p95 {sorted(timings)[int(len(timings) * 0.95)]:.1f}"
          f" ms (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"memory over the second half: {growth:+.1f} MiB, now {_rss_mib():.0f} MiB "
          f"({'ok' if ok_memory else 'GROWING'}; target ≤ {TARGET_GROWTH_MIB:.0f} MiB)")
    return 0 if ok_time and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())
