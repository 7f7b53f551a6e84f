"""SECURITY.md row 31: a DBA who rewrites the audit trail, even recomputing every hash, is caught.

Event hashes are keyed (HMAC with PORTAL_AUDIT_KEY, kept outside the database) and the head of
the trail is anchored daily, signed, in a file the database cannot reach (and mailed to the
auditors). `portal audit verify` and the verify page check every anchor.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select, text

from portal import create_app
from portal.audit.anchors import FILE_NAME, anchor_line, parse_anchor
from portal.audit.chain import (
    KEYED,
    UNKEYED,
    UNKEYED_AFTER_KEYED,
    AnchorPoint,
    check_chain,
    event_hash,
    plain_hash,
)
from portal.audit.keys import AuditKeyError, current_keyring, key_id_of, keyring_from
from portal.audit.models import AuditEvent
from portal.extensions import db
from tests.audit_fixtures import (
    add_events,
    add_unkeyed_events,
    anchor_cli,
    rewrite_from,
    tamper,
    verify_cli,
)

KEY_A = "a" * 64
KEY_B = "b" * 64
AUDITORS = "kansa@example.co.jp"


@pytest.fixture
def anchor_dir(tmp_path) -> Path:
    """Where this test's anchors go."""
    return tmp_path / "anchors"


@pytest.fixture
def app_overrides(anchor_dir):
    """Anchoring on, mailed to the auditors, with a known audit key."""
    return {"PORTAL_AUDIT_ANCHOR_DIR": str(anchor_dir), "PORTAL_AUDITOR_MAIL": AUDITORS,
            "PORTAL_AUDIT_KEY": KEY_A, "PORTAL_AUDIT_KEYS_OLD": ""}


def _anchor(app) -> None:
    result = anchor_cli(app)
    assert result.exit_code == 0, result.output


def _broken(app, seq: int) -> str:
    result = verify_cli(app)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at event {seq}" in result.output, result.output
    return result.output


# --- pure: keyed hashes and anchor lines (no app, no database) ------------------------------

def _fields(seq: int, previous: str, key_id: str = "") -> dict:
    fields = {"seq": seq, "occurred_at": datetime(2026, 4, 1, 0, 0, seq), "actor_id": None, "actor_label": "",
              "action": "t", "object_type": "", "object_id": "", "reason": f"r{seq}", "details": {},
              "source": "cli", "prev_hash": previous}
    return fields | ({"hash_scheme": KEYED, "key_id": key_id} if key_id else {})


def test_a_keyed_hash_cannot_be_made_without_the_key_and_covers_its_key_id():
    ring = keyring_from(KEY_A)
    fields = _fields(1, "0" * 64, ring.current_id)
    keyed = event_hash(fields, ring.keys)
    assert keyed != plain_hash(fields) and keyed != event_hash(fields, {ring.current_id: KEY_B.encode()})
    assert event_hash(_fields(1, "0" * 64), ring.keys) == plain_hash(_fields(1, "0" * 64))  # unkeyed stays plain


def test_a_plainly_rehashed_tail_after_keyed_events_is_refused():
    ring = keyring_from(KEY_A)
    first = _fields(1, "0" * 64, ring.current_id)
    second = _fields(2, event_hash(first, ring.keys))
    events = [(1, first, event_hash(first, ring.keys)), (2, second, plain_hash(second))]
    problem = check_chain(events, ring.keys).problem
    assert (problem.seq, problem.kind) == (2, UNKEYED_AFTER_KEYED)


def test_an_anchor_line_is_signed_and_an_edit_to_it_is_refused():
    ring = keyring_from(KEY_A)
    moment = datetime(2026, 11, 16, 1, 0, tzinfo=timezone.utc)
    line = anchor_line(7, "ab" * 32, 3, moment, ring)
    assert parse_anchor(line, ring) == AnchorPoint(7, "ab" * 32, 3, moment)
    edited = json.loads(line) | {"hash": "cd" * 32}
    with pytest.raises(ValueError, match="signature"):
        parse_anchor(json.dumps(edited), ring)
    with pytest.raises(ValueError, match="not configured"):
        parse_anchor(line, keyring_from(KEY_B))


def test_short_or_missing_keys_are_refused_at_start():
    with pytest.raises(AuditKeyError, match="PORTAL_AUDIT_KEY"):
        keyring_from("too-short")
    with pytest.raises(AuditKeyError, match="PORTAL_AUDIT_KEYS_OLD"):
        keyring_from(KEY_A, "short")
    with pytest.raises(AuditKeyError):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PORTAL_AUDIT_KEY": "x"})


# --- the stored trail, on SQLite and PostgreSQL ----------------------------------------------

def test_new_events_are_keyed_with_the_configured_key(app, make_person):
    add_events(2, make_person("E1"))
    rows = db.session.execute(select(AuditEvent.hash_scheme, AuditEvent.key_id)).all()
    assert set(rows) == {(KEYED, key_id_of(KEY_A.encode()))}
    assert verify_cli(app).exit_code == 0


def test_an_edit_with_plain_hashes_recomputed_to_the_end_is_caught(app, make_person):
    """Tampering as a DBA: edit event 3, recompute SHA-256 hashes and links for 3..6."""
    add_events(6, make_person("E1"))
    rewrite_from(3, "nothing happened")
    output = _broken(app, 3)
    assert "unkeyed hash after keyed event 1" in output and "2 events verified" in output


def test_a_whole_trail_rehashed_plainly_is_caught_by_the_anchor(app, make_person):
    add_events(4, make_person("E1"))
    _anchor(app)
    rewrite_from(1, "a different story")
    output = _broken(app, 1)
    assert "the anchor of" in output and "every event after 0 is keyed" in output


def test_a_rewrite_with_the_key_before_the_newest_anchor_names_the_anchor_and_event(app, make_person):
    add_events(5, make_person("E1"))
    _anchor(app)  # the anchor records event 5; its own audit.anchored event is 6
    keys = current_keyring()
    rewrite_from(2, "rewritten by someone who has the key", keys.current_key, keys.current_id)
    output = _broken(app, 5)
    assert "differs from the one the anchor of" in output and "anchors.jsonl line 1" in output


def test_a_trail_cut_off_after_an_anchor_is_reported(app, make_person):
    add_events(5, make_person("E1"))
    _anchor(app)  # event 5 anchored, event 6 records the anchoring
    tamper("DELETE FROM audit_events WHERE seq >= 4")
    output = _broken(app, 5)
    assert "recorded event 5, but the trail ends at event 3 (cut off)" in output


def test_events_from_before_keyed_hashes_still_verify_and_cannot_be_added_later(app, make_person):
    add_unkeyed_events(3)
    add_events(2, make_person("E1"))
    assert db.session.scalars(select(AuditEvent.hash_scheme).order_by(AuditEvent.seq)).all() == [
        UNKEYED, UNKEYED, UNKEYED, KEYED, KEYED]
    result = verify_cli(app)
    assert result.exit_code == 0 and "5 events" in result.output
    _anchor(app)
    line = json.loads((Path(app.config["PORTAL_AUDIT_ANCHOR_DIR"]) / FILE_NAME).read_text())
    assert (line["seq"], line["last_unkeyed_seq"]) == (5, 3)


def test_unkeyed_events_appended_to_an_old_trail_after_its_anchor_are_caught(app):
    add_unkeyed_events(3)
    _anchor(app)  # records that events after 3 are keyed; its own event 4 is keyed
    tamper("DELETE FROM audit_events WHERE seq = 4")
    add_unkeyed_events(2)  # a forged tail in the old scheme, links and all
    output = _broken(app, 4)
    assert "every event after 3 is keyed" in output


def test_key_rotation_keeps_old_events_and_anchors_verifying(app, make_person):
    person = make_person("E1")
    add_events(3, person)
    _anchor(app)
    app.config.update(PORTAL_AUDIT_KEY=KEY_B, PORTAL_AUDIT_KEYS_OLD=KEY_A)
    add_events(2, person)
    _anchor(app)
    key_ids = db.session.scalars(select(AuditEvent.key_id).order_by(AuditEvent.seq)).all()
    assert key_ids == [key_id_of(KEY_A.encode())] * 4 + [key_id_of(KEY_B.encode())] * 3
    result = verify_cli(app)
    assert result.exit_code == 0 and "2 checked" in result.output, result.output


def test_a_wrong_or_missing_old_key_is_reported_naming_the_key(app, make_person):
    add_events(2, make_person("E1"))
    app.config.update(PORTAL_AUDIT_KEY=KEY_B)  # rotated, but the old key was not kept
    output = _broken(app, 1)
    assert key_id_of(KEY_A.encode()) in output and "PORTAL_AUDIT_KEYS_OLD" in output


def test_an_anchor_line_edited_to_match_a_rewrite_is_reported(app, make_person, anchor_dir):
    add_events(3, make_person("E1"))
    _anchor(app)
    path = anchor_dir / FILE_NAME
    path.write_text(path.read_text().replace('"seq":3', '"seq":2'))
    result = verify_cli(app)
    assert result.exit_code == 1 and "line 1" in result.output and "signature" in result.output


def test_the_anchor_is_mailed_to_the_auditors_and_logged(app, make_person, tmp_path):
    add_events(2, make_person("E1"))
    result = anchor_cli(app)
    assert result.exit_code == 0 and f"queued for {AUDITORS}" in result.output
    mails = [message_from_bytes(path.read_bytes(), policy=policy.default)
             for path in Path(app.config["PORTAL_MAIL_DIR"]).glob("*.eml")]
    assert len(mails) == 1 and mails[0]["To"] == AUDITORS and "アンカー" in mails[0]["Subject"]
    line = (Path(app.config["PORTAL_AUDIT_ANCHOR_DIR"]) / FILE_NAME).read_text().strip()
    assert line in mails[0].get_content()
    anchored = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.anchored"))
    assert anchored.seq == 3 and anchored.details["seq"] == 2


def test_a_broken_trail_is_never_anchored(app, make_person, anchor_dir):
    add_events(3, make_person("E1"))
    tamper("UPDATE audit_events SET reason = 'x' WHERE seq = 2")
    result = anchor_cli(app)
    assert result.exit_code == 1 and "no anchor written" in result.output
    assert not (anchor_dir / FILE_NAME).exists()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.anchored")) is None


def test_the_verify_page_names_the_anchor_and_the_event(app, client, make_person, login):
    auditor = make_person("A1", roles=("auditor",))
    add_events(3, auditor)
    _anchor(app)
    login(auditor)
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "アンカー 1 件と照合しました" in page
    keys = current_keyring()
    rewrite_from(2, "rewritten", keys.current_key, keys.current_id)
    response = client.get("/audit/verify")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "3 番の監査ログのハッシュが" in page and "のアンカー" in page


def test_the_verify_page_reports_a_cut_off_trail(app, client, make_person, login):
    auditor = make_person("A1", roles=("auditor",))
    login(auditor)  # event 1
    add_events(3, auditor)  # events 2-4
    _anchor(app)  # records event 4; logged as event 5
    tamper("DELETE FROM audit_events WHERE seq >= 3")
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "4 番の監査ログを記録していますが、監査ログは 2 番で終わっています" in page
    assert "監査ログが切り取られています" in page


def test_without_an_anchor_directory_verify_says_so(app, make_person):
    app.config["PORTAL_AUDIT_ANCHOR_DIR"] = ""
    add_events(1, make_person("E1"))
    result = verify_cli(app)
    assert result.exit_code == 0 and "PORTAL_AUDIT_ANCHOR_DIR is not set" in result.output
    assert anchor_cli(app).exit_code == 1


def test_backend_triggers_still_refuse_updates_to_the_new_columns(app, make_person):
    add_events(1, make_person("E1"))
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE audit_events SET hash_scheme = 1"))
    db.session.rollback()
