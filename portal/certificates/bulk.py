"""Bulk export: a ZIP of current certificates, produced as a stream of chunks.

Python's zipfile writes to any non-seekable file object (sizes go in data descriptors), so
the archive is written into a small sink that the generator empties after every entry: the
memory held is one certificate and the running manifest, whatever the size of the export.
The web view sends the chunks as they come; the CLI writes them to a file.
"""
from __future__ import annotations

import gc
import io
import itertools
import multiprocessing
import zipfile
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime, timezone

from flask import Flask

from portal.certificates.queries import CertificateFacts, current_certificate_batch
from portal.certificates.rendering import render_certificate, verification_url
from portal.core.exports import clean_filename, csv_lines
from portal.core.timeutil import to_jst, utcnow
from portal.extensions import db


class _Sink(io.RawIOBase):
    """A write-only, non-seekable buffer that hands out what was written since the last take()."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []

    def writable(self) -> bool:  # noqa: D102
        return True

    def write(self, data) -> int:  # noqa: D102
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """Everything written since the last call."""
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


def zip_chunks(entries: Iterable[tuple[str, bytes]]) -> Iterator[bytes]:
    """A ZIP archive of (name, data) entries, yielded as it is written (entries stored: PDFs are compressed)."""
    sink = _Sink()
    stamp = to_jst(utcnow()).timetuple()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
            chunk = sink.take()
            if chunk:
                yield chunk
    yield sink.take()


def entry_name(facts: CertificateFacts) -> str:
    """<department code>/<employee no>-<manual>-ed<n>-<id>.pdf, every part cleaned of path characters."""
    folder = clean_filename(facts.department_code, "department")
    stem = f"{facts.employee_no}-{facts.manual_slug}-ed{facts.edition_number}-{facts.attestation_id}"
    name = clean_filename(f"{stem}.pdf", f"certificate-{facts.attestation_id}.pdf")
    return f"{folder}/{name}"


MANIFEST_HEADER = ["ファイル", "社員番号", "氏名", "部門コード", "部門", "マニュアル", "版", "修了日", "有効期限",
                   "確認URL"]


def manifest_row(name: str, facts: CertificateFacts) -> list:
    """One manifest.csv row for a certificate written as `name`."""
    return [name, facts.employee_no, facts.person_name, facts.department_code, facts.department_name_ja,
            facts.manual_title_ja, facts.edition_number, facts.attested_on.isoformat(),
            facts.valid_until.isoformat() if facts.valid_until else "", verification_url(facts.verification_code)]


def current_facts(app: Flask, department_ids: Collection[int] | None, today: date) -> Iterator[CertificateFacts]:
    """The current certificates, one batch query at a time, each in an app context of its own.

    The context is pushed and popped around each query and never held across a yield: a
    streamed response body may be resumed elsewhere.
    """
    after: int | None = 0
    while after is not None:
        with app.app_context():
            batch, after = current_certificate_batch(department_ids, today, after)
        yield from batch


_WORKER_APP: Flask | None = None

#: Rendered once before the fork, so that the fonts (IPAex Mincho, and IPAmj Mincho for 𠮷), the
#: template and the parsed stylesheet are loaded in pages the workers share copy-on-write.
_WARM_UP = CertificateFacts(
    attestation_id=0, verification_code="warm-up", person_id=0, person_name="𠮷田 髙﨑", employee_no="0",
    department_code="-", department_name_ja="部門", department_name_en="Department", manual_id=0,
    manual_slug="warm-up", manual_title_ja="マニュアル", manual_title_en="Manual", edition_number=1,
    attested_at=datetime(2026, 1, 1, tzinfo=timezone.utc), valid_until=date(2027, 1, 1), status="current")


def _init_worker() -> None:
    """A forked worker must never use (or close) the parent's database connections."""
    with _WORKER_APP.app_context():
        db.engine.dispose(close=False)


def _render_in_worker(facts: CertificateFacts) -> bytes:
    with _WORKER_APP.app_context():
        return render_certificate(facts)


def _render_here(app: Flask, facts: Iterable[CertificateFacts]) -> list[bytes]:
    with app.app_context():
        return [render_certificate(item) for item in facts]


def _rendered(app: Flask, facts: Iterable[CertificateFacts], jobs: int) -> Iterator[tuple[CertificateFacts, bytes]]:
    """(facts, PDF) in order; with jobs > 1 this process renders beside jobs - 1 forked workers.

    Memory is what limits the processes, so the workers are forked from a warm parent: one
    throw-away render loads the fonts, the template and the stylesheet first, and gc.freeze()
    keeps the garbage collector (here and in the workers) from writing to the objects that
    exist at the fork, whose pages then stay shared. This process renders its share of each
    batch while the workers render theirs: no process sits idle waiting for the others.
    """
    gc.collect()
    gc.freeze()  # one process or several: the collector's full passes skip what start-up made
    try:
        if jobs <= 1:
            for item in facts:
                yield item, _render_here(app, [item])[0]
            return
        global _WORKER_APP
        _WORKER_APP = app  # inherited by the forked workers (they render only: no database access)
        facts = iter(facts)
        _render_here(app, [_WARM_UP])
        gc.collect()
        gc.freeze()
        with multiprocessing.get_context("fork").Pool(jobs - 1, initializer=_init_worker) as pool:
            while chunk := list(itertools.islice(facts, 16 * jobs)):  # bounded: memory stays flat
                mine = len(chunk) // jobs
                theirs = pool.map_async(_render_in_worker, chunk[mine:], chunksize=max(len(chunk) // (4 * jobs), 1))
                pdfs = _render_here(app, chunk[:mine])
                yield from zip(chunk, pdfs + theirs.get())
    finally:
        gc.unfreeze()


def certificate_entries(app: Flask, department_ids: Collection[int] | None, today: date,
                        counter: list[int] | None = None, jobs: int = 1) -> Iterator[tuple[str, bytes]]:
    """(name, PDF) for each current certificate, then manifest.csv listing them all."""
    manifest = []
    for facts, pdf in _rendered(app, current_facts(app, department_ids, today), jobs):
        name = entry_name(facts)
        with app.app_context():
            manifest.append(manifest_row(name, facts))
        if counter is not None:
            counter[0] += 1
        yield name, pdf
    yield "manifest.csv", b"".join(csv_lines(MANIFEST_HEADER, manifest))
