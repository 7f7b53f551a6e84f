"""Pure decisions about corrective instructions: attachment types, deadlines, status, scope.

No app, no database: data in, answer out (unit-tested in tests/instructions/test_instructions_rules.py).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_COUNT = 5
#: A deadline further out than this is almost certainly a typo (2062 for 2026).
DEADLINE_MAX_DAYS = 366
TITLE_MAX = 200
BODY_MAX = 20_000
REASON_MAX = 4_000

#: Detected type -> the file name endings that may carry it.
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
}
ALLOWED_ENDINGS = tuple(ending for endings in EXTENSIONS.values() for ending in endings)

#: Statuses, in the order the register's filter offers them.
STATUSES = ("open", "overdue", "complete", "corrected")

_NUMBER_SEPARATORS = re.compile(r"[\s,、，;；]+")


def sniff_type(data: bytes) -> str | None:
    """The attachment type its first bytes prove, or None (HTML, SVG, Office files... are None)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class AttachmentProblem:
    """Why one file cannot be attached: a code the caller turns into words, and its details."""

    code: str  # "empty", "too_large", "ending", "content"
    filename: str
    params: dict = field(default_factory=dict)


def check_attachment(filename: str, data: bytes,
                     size: int | None = None) -> tuple[str | None, AttachmentProblem | None]:
    """(detected type, None) when the file may be attached, else (None, the problem).

    The name must end in an allowed ending AND the bytes must prove that same type, so a
    PNG named .pdf, or HTML named .pdf, is refused rather than stored under a false name.
    size: the upload's real size when `data` holds only its beginning (a huge file is not read whole).
    """
    lowered = filename.lower()
    size = len(data) if size is None else size
    if not data or not size:
        return None, AttachmentProblem("empty", filename)
    if size > ATTACHMENT_MAX_BYTES or len(data) > ATTACHMENT_MAX_BYTES:
        return None, AttachmentProblem("too_large", filename, {"size_mb": round(max(size, len(data)) / 1048576, 1)})
    if not lowered.endswith(ALLOWED_ENDINGS):
        return None, AttachmentProblem("ending", filename)
    detected = sniff_type(data)
    if detected is None or not lowered.endswith(EXTENSIONS[detected]):
        return None, AttachmentProblem("content", filename)
    return detected, None


def deadline_problem(deadline: date | None, today: date) -> str | None:
    """"missing", "past" or "too_far" when the acknowledgement deadline is unusable; else None."""
    if deadline is None:
        return "missing"
    if deadline < today:
        return "past"
    if deadline > today + timedelta(days=DEADLINE_MAX_DAYS):
        return "too_far"
    return None


def instruction_status(acknowledge_by: date, today: date, recipients: int, acknowledged: int,
                       corrected: bool = False) -> str:
    """complete when everyone acknowledged; corrected when superseded first; else overdue or open."""
    if recipients and acknowledged >= recipients:
        return "complete"
    if corrected:
        return "corrected"
    return "overdue" if today > acknowledge_by else "open"


def parse_employee_numbers(text: str) -> list[str]:
    """Employee numbers separated by commas, spaces, 、 or new lines; duplicates dropped, order kept."""
    seen: dict[str, None] = {}
    for token in _NUMBER_SEPARATORS.split(text or ""):
        token = token.strip()
        if token:
            seen.setdefault(token, None)
    return list(seen)


def may_issue_to(actor_roles: frozenset[str], managed_ids: frozenset[int], actor_department_kind: str,
                 department_id: int, department_kind: str) -> bool:
    """Admins address anyone; managers their own departments and, when they are internal
    staff, sales agencies (販売委託会社 answer to the company, not to one department)."""
    if "admin" in actor_roles:
        return True
    if "manager" not in actor_roles:
        return False
    if department_id in managed_ids:
        return True
    return department_kind == "agency" and actor_department_kind == "internal"


def content_hash(*, title: str, body_md: str, reason: str, acknowledge_by: date, recipient_spec: dict,
                 issuer_employee_no: str, corrects_id: int | None, attachment_hashes: list[str]) -> str:
    """sha256 over the canonical form of what was instructed (shown on the record and in the PDF)."""
    canonical = json.dumps(
        {
            "title": title, "body_md": body_md, "reason": reason,
            "acknowledge_by": acknowledge_by.isoformat(), "recipients": recipient_spec,
            "issuer": issuer_employee_no, "corrects": corrects_id, "attachments": attachment_hashes,
        },
        sort_keys=True, ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def progress_by_department(rows: list[dict]) -> list[dict]:
    """Per department (in first-seen order): total, acknowledged, pending, percent."""
    groups: dict[int, dict] = {}
    for row in rows:
        group = groups.setdefault(row["department_id"], {
            "department_id": row["department_id"], "code": row["department_code"],
            "name": row["department_name"], "kind": row["department_kind"],
            "total": 0, "acknowledged": 0,
        })
        group["total"] += 1
        group["acknowledged"] += 1 if row["acknowledged_at"] is not None else 0
    for group in groups.values():
        group["pending"] = group["total"] - group["acknowledged"]
        group["percent"] = round(100 * group["acknowledged"] / group["total"]) if group["total"] else 0
    return list(groups.values())
