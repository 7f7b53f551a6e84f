"""Comparing two ~30 KB editions (Japanese): ≤ 100 ms. Times the comparison and the whole compare page.

    .venv/bin/python bench/bench_manuals_compare.py [--runs N]

Edition 2 edits a third of the paragraphs inside sentences, rewrites some, adds and removes sections,
so every path of the comparison runs (line pairing, character marks, folding, unchanged sections).
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_MS = 100.0
PHRASES = ["コラボ事業者の契約者情報は", "業務の目的の範囲でのみ", "管理者の承認を得たうえで",
           "閲覧権限を持つ者に照会し",
           "利用目的を明確にして", "権限付与責任者が点検し", "販売委託会社に対しても", "記録を後から確認できるよう",
           "社内監査で確認する", "電話勧奨の前に調整する"]


def _paragraph(rng: random.Random) -> str:
    return "、".join(rng.choice(PHRASES) for _ in range(rng.randint(3, 6))) + "。"


def editions(target_bytes: int = 30_000) -> tuple[str, str]:
    """Two Markdown editions of about target_bytes each."""
    rng = random.Random(30)
    sections = []
    while sum(len(s.encode()) for s in sections) < target_bytes:
        number = len(sections) + 1
        body = "\n\n".join(_paragraph(rng) for _ in range(rng.randint(3, 6)))
        sections.append(f"## 第{number}条 {{#article-{number}}}\n\n{body}\n\n"
                        f"- {_paragraph(rng)}\n- {_paragraph(rng)}\n")
    old = "# 規程\n\n" + "\n".join(sections)
    changed = []
    for index, section in enumerate(sections):
        if index % 11 == 5:
            continue  # removed
        lines = section.split("\n")
        for i, line in enumerate(lines):
            if line and not line.startswith("#") and rng.random() < 0.33:
                cut = rng.randint(1, max(1, len(line) - 2))
                lines[i] = line[:cut] + rng.choice(PHRASES) + line[cut + 2:]  # edited inside the sentence
            elif line and not line.startswith("#") and rng.random() < 0.05:
                lines[i] = _paragraph(rng)  # rewritten
        changed.append("\n".join(lines))
        if index % 13 == 7:
            changed.append(f"## 新設第{index}条 {{#new-{index}}}\n\n{_paragraph(rng)}\n")
    return old, "# 規程\n\n" + "\n".join(changed)


def _time(function, runs: int) -> tuple[float, float]:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        function()
        timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return statistics.median(timings), timings[-1]


def _page_timing(old: str, new: str, runs: int) -> tuple[float, float]:
    """The whole compare page through the app (SQLite): load both editions, compare, render."""
    import json

    from portal import create_app
    from portal.extensions import db
    from portal.manuals.models import Manual, ManualEdition
    from portal.manuals.rendering import render_markdown

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                          "WTF_CSRF_ENABLED": False})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            from portal.org.models import Department, Person
            department = Department(code="D1", name_ja="部", kind="internal")
            person = Person(employee_no="B1", name="試験 太郎", department=department)
            manual = Manual(slug="bench", title_ja="規程", title_en="Rules")
            db.session.add_all([department, person, manual])
            db.session.flush()
            for number, text in ((1, old), (2, new)):
                rendered = render_markdown(text)
                db.session.add(ManualEdition(
                    manual_id=manual.id, number=number, change_kind="material", change_summary_ja="改訂",
                    effective_date=__import__("datetime").date(2026, 4, 1), source_text=text,
                    content_hash=str(number) * 64,
                    html=rendered.html, toc_json=json.dumps(rendered.toc), sections_json=json.dumps(rendered.sections),
                    audience_json='{"everyone": true}', days_allowed=30))
            db.session.commit()
            person_id = person.id
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = f"{person_id}:1"
                session["_fresh"] = True
            path = "/manuals/bench/compare?from=1&to=2"
            assert client.get(path).status_code == 200
            result = _time(lambda: client.get(path).close(), runs)
            db.session.remove()
            db.engine.dispose()
            return result


def main() -> int:
    """Time the comparison of two ~30 KB editions; exit 1 when the median misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    from portal.manuals.comparison import compare_sections
    from portal.manuals.rendering import render_markdown

    old, new = editions()
    old_sections, new_sections = render_markdown(old).sections, render_markdown(new).sections
    comparison = compare_sections(old_sections, new_sections)
    print(f"editions: {len(old.encode()) / 1000:.1f} KB and {len(new.encode()) / 1000:.1f} KB; sections changed "
          f"{comparison.count('changed')}, added {comparison.count('added')}, removed {comparison.count('removed')}, "
          f"unchanged {comparison.count('unchanged')}")
    median, worst = _time(lambda: compare_sections(old_sections, new_sections), args.runs)
    verdict = "ok" if median <= TARGET_MS else "TOO SLOW"
    print(f"comparison (sections + character marks): median {median:.1f} ms, max {worst:.1f} ms "
          f"over {args.runs} runs ({verdict}; target ≤ {TARGET_MS:.0f} ms)", flush=True)
    page_median, page_worst = _page_timing(old, new, args.runs)
    page_verdict = "ok" if page_median <= TARGET_MS else "TOO SLOW"
    print(f"compare page in-process (load, compare, render): median {page_median:.1f} ms, max {page_worst:.1f} ms "
          f"({page_verdict}; target ≤ {TARGET_MS:.0f} ms)", flush=True)
    return 0 if verdict == page_verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
