"""The bulk certificate ZIP as a job: the candidates are cut into parts that any free consumer renders
(so a whole-organisation export goes faster with more consumers), then one consumer joins the
parts into one ZIP with manifest.csv.

Each work part writes part-NNNNN.zip (stored entries: PDFs are compressed already) and its
manifest rows beside it, under temporary names renamed when complete; a part taken over after a
crash is rendered again from its start, so the joined ZIP has every certificate exactly once.
"""
from __future__ import annotations

import json
import os
import uuid
import zipfile
from datetime import date
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.certificates.bulk import MANIFEST_HEADER, entry_name, manifest_row
from portal.certificates.queries import candidate_facts, candidate_ids
from portal.certificates.rendering import render_certificate
from portal.certificates.services import record_bulk_export
from portal.certificates.status import CURRENT
from portal.core.exports import csv_lines
from portal.core.timeutil import to_jst
from portal.jobs.kinds import JobKind, JobResult, PartPlan
from portal.jobs.services import create_job
from portal.org.models import Department, Person
from portal.training.status import jst_today

KIND = "certificates.zip"


def start_certificate_export(actor: Person | None, department: Department | None, source: str = "web"):
    """Queue a ZIP of a department's (None: everyone's) current certificates; audited now; flushes."""
    scope = "all" if department is None else department.code
    job = create_job(actor, KIND, {"department_id": None if department is None else department.id, "scope": scope,
                                   "today": jst_today().isoformat()})
    record_bulk_export(actor, scope, None, source, job_id=job.id)
    return job


def _department_ids(params: dict) -> list[int] | None:
    return None if params.get("department_id") is None else [params["department_id"]]


#: A plan cuts an export into about this many parts, so that no consumer waits long for the last
#: one: with 2 consumers and 3 parts, one of them would sit out the third (2 part-times, not 1.5).
PARTS_WANTED = 64
#: ... but no part smaller than this (each part costs a claim, a file and a commit).
SMALLEST_PART = 10


def part_size(total: int, largest: int) -> int:
    """Certificates per part: about total / PARTS_WANTED, between SMALLEST_PART and `largest`."""
    return max(1, min(largest, max(SMALLEST_PART, -(-total // PARTS_WANTED))))


def part_ranges(ids: list[int], size: int) -> list[tuple[int, int, int]]:
    """Sorted ids cut into (after, upto, count) ranges of `size` ids (the last one shorter)."""
    ranges, after = [], 0
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        ranges.append((after, chunk[-1], len(chunk)))
        after = chunk[-1]
    return ranges


def plan(job, progress) -> list[PartPlan]:
    """Ranges of candidate ids: at most PORTAL_JOBS_CERTIFICATES_PER_PART certificates each (part_size)."""
    ids = candidate_ids(_department_ids(job.params))
    size = part_size(len(ids), current_app.config["PORTAL_JOBS_CERTIFICATES_PER_PART"])
    return [PartPlan({"after": after, "upto": upto}, count) for after, upto, count in part_ranges(ids, size)]


def _part_files(folder: Path, number: int) -> tuple[Path, Path]:
    return folder / f"part-{number:05d}.zip", folder / f"part-{number:05d}.json"


def _zip_info(name: str, stamp) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.external_attr = 0o644 << 16
    return info


def work(job, part, progress, folder: Path) -> None:
    """Render the part's current certificates into part-NNNNN.zip, with their manifest rows."""
    folder.mkdir(parents=True, exist_ok=True)
    params, today = job.params, date.fromisoformat(job.params["today"])
    stamp = to_jst(job.created_at).timetuple()[:6]
    archive_path, rows_path = _part_files(folder, part.number)
    temporary = f".{uuid.uuid4().hex}.tmp"
    rows = []
    with zipfile.ZipFile(str(archive_path) + temporary, "w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
        for done, facts in enumerate(candidate_facts(_department_ids(params), today, part.params["after"],
                                                     part.params["upto"]), start=1):
            if facts.status == CURRENT:  # expired since the plan counted it: counted as done, not exported
                name = entry_name(facts)
                archive.writestr(_zip_info(name, stamp), render_certificate(facts))
                rows.append(manifest_row(name, facts))
            progress(done)
    Path(str(rows_path) + temporary).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    os.replace(str(rows_path) + temporary, rows_path)
    os.replace(str(archive_path) + temporary, archive_path)


def _manifest_rows(folder: Path, numbers: list[int]):
    """The parts' manifest rows in order, one part's file in memory at a time."""
    for number in numbers:
        yield from json.loads(_part_files(folder, number)[1].read_text(encoding="utf-8"))


def finish(job, progress, folder: Path) -> JobResult:
    """Join the parts, in order, into one ZIP ending with manifest.csv; delete the parts."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = to_jst(job.created_at)
    final = folder / f"certificates-{job.params['scope']}-{stamp.strftime('%Y%m%d-%H%M')}.zip"
    temporary = folder / f".{uuid.uuid4().hex}.tmp"
    numbers = sorted(p.number for p in job.parts if p.stage == 1)
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as out:
        for number in numbers:
            archive_path, _rows_path = _part_files(folder, number)
            with zipfile.ZipFile(archive_path) as source:
                for info in source.infolist():
                    out.writestr(_zip_info(info.filename, info.date_time), source.read(info))
                    progress(progress.done)  # a heartbeat now and then: joining 50,000 PDFs takes a while
        # Streamed part by part: 50,000 rows held at once cost a consumer ~45 MB at its peak.
        with out.open(_zip_info("manifest.csv", stamp.timetuple()[:6]), "w") as entry:
            for chunk in csv_lines(MANIFEST_HEADER, _manifest_rows(folder, numbers)):
                entry.write(chunk)
    os.replace(temporary, final)
    for number in numbers:
        for path in _part_files(folder, number):
            path.unlink(missing_ok=True)
    return JobResult(final, final.name)


CERTIFICATES_ZIP = JobKind(name=KIND, label=_l("Certificates (ZIP)"), plan=plan, work=work, finish=finish)
