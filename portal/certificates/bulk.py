"""Bulk export: a ZIP of current certificates, produced as a stream of chunks.

Python's zipfile writes to any non-seekable file object (sizes go in data descriptors), so
the archive is written into a small sink that the generator empties after every entry: the
memory held is one certificate and the running manifest, whatever the size of the export.
The web view sends the chunks as they come; the CLI writes them to a file.
"""
from __future__ import annotations

import io
import itertools
import multiprocessing
import zipfile
from collections.abc import Collection, Iterable, Iterator
from datetime import date

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
    name = clean_filename(f"{facts.employee_no}-{facts.manual_slug}-ed{facts.edition_number}-{facts.attestation_id}.pdf",
                          f"certificate-{facts.attestation_id}.pdf")
    return f"{folder}/{name}"


MANIFEST_HEADER = ["ファイル", "社員番号", "氏名", "部門コード", "部門", "マニュアル", "版", "修了日", "有効期限", "確認URL"]


def _manifest_row(name: str, facts: CertificateFacts) -> list:
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


def _init_worker() -> None:
    """A forked worker must never use (or close) the parent's database connections."""
    with _WORKER_APP.app_context():
        db.engine.dispose(close=False)


def _render_in_worker(facts: CertificateFacts) -> bytes:
    with _WORKER_APP.app_context():
        return render_certificate(facts)


def _rendered(app: Flask, facts: Iterable[CertificateFacts], jobs: int) -> Iterator[tuple[CertificateFacts, bytes]]:
    """(facts, PDF) in order; with jobs > 1 the rendering runs in that many forked processes."""
    if jobs <= 1:
        for item in facts:
            with app.app_context():
                pdf = render_certificate(item)
            yield item, pdf
        return
    global _WORKER_APP
    _WORKER_APP = app  # inherited by the forked workers (they render only: no database access)
    facts = iter(facts)
    with multiprocessing.get_context("fork").Pool(jobs, initializer=_init_worker) as pool:
        while chunk := list(itertools.islice(facts, 16 * jobs)):  # bounded: memory stays flat
            yield from zip(chunk, pool.map(_render_in_worker, chunk, chunksize=2))


def certificate_entries(app: Flask, department_ids: Collection[int] | None, today: date,
                        counter: list[int] | None = None, jobs: int = 1) -> Iterator[tuple[str, bytes]]:
    """(name, PDF) for each current certificate, then manifest.csv listing them all."""
    manifest = []
    for facts, pdf in _rendered(app, current_facts(app, department_ids, today), jobs):
        name = entry_name(facts)
        with app.app_context():
            manifest.append(_manifest_row(name, facts))
        if counter is not None:
            counter[0] += 1
        yield name, pdf
    yield "manifest.csv", b"".join(csv_lines(MANIFEST_HEADER, manifest))
