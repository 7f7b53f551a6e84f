"""HR files uploaded in the web UI, kept server-side between the preview and "apply".

Each upload lives under the instance folder as <token>.csv plus <token>.json, where the token
is random (192 bits) and the JSON names the admin who uploaded it; the view also keeps the
token in that admin's session. So "apply" applies the very bytes that were previewed. The JSON
also keeps what the last preview showed (the plan's digest and counts): "apply" then queues the
job without planning 50,000 rows again, and the job re-plans under the organisation lock.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

#: Largest HR file accepted in the web UI.
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Uploads nobody applied are removed after this many seconds.
MAX_AGE_SECONDS = 6 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True)
class PendingImport:
    """An uploaded file waiting for "apply"."""

    token: str
    owner_id: int
    filename: str
    encoding: str
    deactivate_missing: bool
    sha256: str
    uploaded_at: float
    raw: bytes
    #: What the last preview of this upload showed: the plan's digest ("" before any preview) and counts,
    #: and whether it changes the uploader's own roles.
    digest: str = ""
    counts: dict | None = None
    own_changes: bool = False

    @property
    def plan_is_empty(self) -> bool:
        """The previewed plan changes nothing."""
        return not any((self.counts or {}).values())


def upload_dir() -> Path:
    """Where pending uploads live (PORTAL_ORG_UPLOAD_DIR, else instance/org_imports)."""
    configured = current_app.config.get("PORTAL_ORG_UPLOAD_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "org_imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only the portal's user can read, atomically (never half a file)."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def save_pending(owner_id: int, raw: bytes, filename: str, encoding: str, deactivate_missing: bool) -> str:
    """Keep an upload; returns its token."""
    purge_stale()
    token = secrets.token_urlsafe(24)
    folder = upload_dir()
    meta = {"owner_id": owner_id, "filename": filename[:200], "encoding": encoding,
            "deactivate_missing": deactivate_missing, "sha256": hashlib.sha256(raw).hexdigest(),
            "uploaded_at": time.time()}
    _write_private(folder / f"{token}.csv", raw)
    _write_private(folder / f"{token}.json", json.dumps(meta).encode("utf-8"))
    return token


def load_pending(token: str | None, owner_id: int) -> PendingImport | None:
    """The upload behind a token, only for the admin who made it and only while fresh."""
    if not token or not _TOKEN.match(token):
        return None  # also keeps path tricks (../) out of the file name
    folder = upload_dir()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        raw = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError):
        return None
    if meta.get("owner_id") != owner_id or time.time() - meta.get("uploaded_at", 0) > MAX_AGE_SECONDS:
        return None
    if hashlib.sha256(raw).hexdigest() != meta.get("sha256"):
        return None
    preview = meta.get("preview") or {}
    return PendingImport(token=token, owner_id=owner_id, filename=meta["filename"], encoding=meta["encoding"],
                         deactivate_missing=bool(meta["deactivate_missing"]), sha256=meta["sha256"],
                         uploaded_at=meta["uploaded_at"], raw=raw, digest=preview.get("digest", ""),
                         counts=preview.get("counts"), own_changes=bool(preview.get("own_changes")))


def record_preview(pending: PendingImport, digest: str, counts: dict, own_changes: bool) -> None:
    """Remember what the preview of an upload showed (the apply checks the posted digest against it)."""
    path = upload_dir() / f"{pending.token}.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # discarded meanwhile: the apply will say so
    meta["preview"] = {"digest": digest, "counts": counts, "own_changes": own_changes}
    _write_private(path, json.dumps(meta).encode("utf-8"))


def discard_pending(token: str | None) -> None:
    """Remove an upload (after apply or cancel)."""
    if not token or not _TOKEN.match(token):
        return
    for suffix in (".csv", ".json"):
        (upload_dir() / f"{token}{suffix}").unlink(missing_ok=True)


def purge_stale() -> None:
    """Remove uploads older than MAX_AGE_SECONDS.

    An upload's age is the `uploaded_at` its metadata records (the clock `load_pending` judges by);
    a file's mtime decides only for leftovers without readable metadata (a crash between writes).
    """
    limit = time.time() - MAX_AGE_SECONDS
    folder = upload_dir()
    for path in folder.glob("*"):
        try:
            if path.suffix == ".json":
                uploaded_at = json.loads(path.read_text(encoding="utf-8")).get("uploaded_at", 0)
                if uploaded_at < limit:
                    discard_pending(path.stem)
            elif not (folder / f"{path.stem}.json").exists() and path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except (OSError, ValueError):
            continue  # another process removed it first, or it is being written
