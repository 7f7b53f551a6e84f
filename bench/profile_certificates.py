"""Where a certificate's CPU goes: renders job parts' worth of certificates in this process under a
sampling profiler (pyinstrument) and prints the time by stage, on synthetic attestations (1 in 100
names has 𠮷), SQLite:

    .venv/bin/pip install pyinstrument   # a profiling aid, not a dependency of the portal
    .venv/bin/python bench/profile_certificates.py [--certificates 600] [--html /tmp/profile.html]

It runs the job's own work() on each part (database reads, render, ZIP of the part), so what it
splits is what a consumer spends per certificate. A stage is named by the WeasyPrint step on the
stack (parse, cascade, layout, draw, PDF) and, inside it, by the deepest library that was running
(text shaping through Pango, font subsetting through HarfBuzz, pydyf's compression…). Also prints
the CPU per certificate measured without the profiler. Not a benchmark with a target: exit 0.
"""
from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from bench_certificates import _attestations
from training_synthetic import bench_app, fresh_database, insert_people

#: (stage, marker): a sample belongs to the first stage whose marker appears on its stack (from the root).
STAGES = [
    ("database reads", ("sqlalchemy/",)),
    ("Jinja template", ("certificate_html",)),
    ("HTML parse (tinyhtml5)", ("weasyprint/__init__.py:HTML.__init__", "tinyhtml5/")),
    ("CSS cascade (computed styles)", ("get_all_computed_styles",)),
    ("box tree", ("formatting_structure/",)),
    ("layout", ("weasyprint/layout/",)),
    ("draw", ("weasyprint/draw/", "weasyprint/document.py:Page.paint")),
    ("PDF: fonts (subset + embed)", ("weasyprint/pdf/fonts.py",)),
    ("PDF: write + compress (pydyf)", ("pydyf/",)),
    ("PDF: other", ("weasyprint/pdf/",)),
    ("ZIP of the part", ("zipfile",)),
]
#: Inside a stage, the deepest of these on the stack says what was running.
DETAILS = [("Pango/HarfBuzz text", "weasyprint/text/"), ("QR code", "qrcode/"), ("QR code", "qr_png_data_url"),
           ("images", "weasyprint/images"), ("PIL", "PIL/"), ("zlib", "zlib"), ("Jinja", "jinja2/"),
           ("CSS selectors", "cssselect2/"), ("tinycss2", "tinycss2/")]


def _label(frame) -> str:
    owner = f"{frame.class_name}." if frame.class_name else ""
    return f"{frame.file_path or ''}:{owner}{frame.function}"


def _classify(stack: list[str]) -> tuple[str, str]:
    stage = next((name for name, markers in STAGES for label in stack if any(m in label for m in markers)),
                 None)
    if stage is None:
        stage = "WeasyPrint other" if any("weasyprint/" in label for label in stack) else "other"
    detail = ""
    for label in stack:
        for name, marker in DETAILS:
            if marker in label:
                detail = name
    return stage, detail


def breakdown(root) -> dict[tuple[str, str], float]:
    """Seconds of samples per (stage, detail), from a pyinstrument frame tree."""
    totals: dict[tuple[str, str], float] = defaultdict(float)
    todo = [(root, [_label(root)])]
    while todo:
        frame, stack = todo.pop()
        own = frame.time - sum(child.time for child in frame.children)
        if own > 0:
            totals[_classify(stack)] += own
        todo.extend((child, stack + [_label(child)]) for child in frame.children)
    return totals


def _export(app, parts: int, folder: Path) -> int:
    """The job's work() over `parts` parts, as a consumer does it; the number of certificates."""
    from portal.certificates import jobs as certificate_jobs
    from portal.certificates.jobs import part_ranges
    from portal.certificates.queries import candidate_ids
    from portal.training.status import jst_today

    class Job:  # what work() reads of a job row
        params = {"department_id": None, "scope": "all", "today": jst_today().isoformat()}
        created_at = datetime.now(timezone.utc)

    class Part:
        def __init__(self, number, params):
            self.number, self.params = number, params

    with app.app_context():
        ranges = part_ranges(candidate_ids(None), app.config["PORTAL_JOBS_CERTIFICATES_PER_PART"])
        for number, (after, upto, _count) in enumerate(ranges[:parts] if parts else ranges, start=1):
            certificate_jobs.work(Job, Part(number, {"after": after, "upto": upto}), lambda done: None, folder)
    return sum(count for *_bounds, count in (ranges[:parts] if parts else ranges))


def main() -> int:
    """Build the data, warm up, measure without and then with the profiler; print the split."""
    import pyinstrument

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--certificates", type=int, default=600)
    parser.add_argument("--html", help="also write pyinstrument's HTML view here")
    args = parser.parse_args()
    with fresh_database("sqlite") as url, tempfile.TemporaryDirectory() as folder:
        app = bench_app(url)
        with app.app_context():
            insert_people(args.certificates, max(args.certificates // 250, 1))
            _attestations(args.certificates)
        _export(app, 1, Path(folder) / "warm-up")  # fonts, template, stylesheet
        gc.collect()
        gc.freeze()  # as `portal worker` does once started
        cpu, wall = time.process_time(), time.perf_counter()
        count = _export(app, 0, Path(folder) / "plain")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"without the profiler: {count} certificates, CPU {cpu / count * 1000:.1f} ms a certificate, "
              f"wall {wall / count * 1000:.1f} ms", flush=True)
        profiler = pyinstrument.Profiler(interval=0.0005)
        profiler.start()
        _export(app, 0, Path(folder) / "profiled")
        profiler.stop()
        if args.html:
            Path(args.html).write_text(profiler.output_html(), encoding="utf-8")
        totals = breakdown(profiler.last_session.root_frame())
        whole = sum(totals.values())
        by_stage: dict[str, float] = defaultdict(float)
        for (stage, _detail), seconds in totals.items():
            by_stage[stage] += seconds
        for stage, seconds in sorted(by_stage.items(), key=lambda item: -item[1]):
            print(f"{stage:32s} {seconds / whole * 100:5.1f}%  ≈ {seconds / whole * cpu / count * 1000:5.1f} ms",
                  flush=True)
            for (name, detail), part in sorted(totals.items(), key=lambda item: -item[1]):
                if name == stage and detail and part / whole >= 0.005:
                    print(f"    of which {detail:22s} {part / whole * 100:5.1f}%", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
