"""workflow steps and revocations that take effect

Revision ID: 0011
Revises: 0010

- access_requests.status may be awaiting_training (受講完了待ち): a grant owner would grant, but
  the requester's training is not current; access_events.kind gains awaiting_training and
  training_completed (the request went back to the grant owners).
- attestations.cycle: the how-many-th attestation of an edition by a person. A revoked
  certificate's attestation no longer counts, so the person attests the same edition again as
  the next cycle; one attestation per person × edition × cycle (was: per person × edition).
- Revoking a certificate (a row in certificate_revocations, whoever writes it) sets the person's
  training_progress to their newest attestation of the manual that is not revoked, in the same
  statement, so every status read (and, through migration 0008's triggers, the materialised
  statuses) stops counting it at once.

On SQLite a constraint changes by rebuilding the table (batch mode); the triggers on a rebuilt
table (e.g. attestations' append-only ones) are read first and created again afterwards.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

REQUEST_STATUSES = ("awaiting_approval", "awaiting_grant", "granted", "refused_by_manager", "refused_by_owner",
                    "expired", "awaiting_training")
EVENT_KINDS = ("requested", "approved", "refused", "granted", "grant_refused", "request_expired", "suspended",
               "resumed", "reviewed", "revoked", "expired", "awaiting_training", "training_completed")
OLD_REQUEST_STATUSES = REQUEST_STATUSES[:-1]
OLD_EVENT_KINDS = EVENT_KINDS[:-2]

#: The newest attestation of the pair that is not revoked (edition, then moment, then id).
_COUNTING = ("SELECT a.{column} FROM attestations a WHERE a.person_id = training_progress.person_id "
             "AND a.manual_id = training_progress.manual_id AND NOT EXISTS (SELECT 1 FROM certificate_revocations r "
             "WHERE r.attestation_id = a.id) ORDER BY a.edition_number DESC, a.attested_at DESC, a.id DESC LIMIT 1")
_ATTESTED = ("attested_edition_id", "attested_edition_number", "attested_at")
_SOURCE = {"attested_edition_id": "edition_id", "attested_edition_number": "edition_number",
           "attested_at": "attested_at"}


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _rebuild(table: str, change) -> None:
    """Apply `change(batch_op)`; on SQLite rebuild the table and keep the triggers it had."""
    if not _sqlite():
        change(op)
        return
    bind = op.get_bind()
    triggers = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? ORDER BY name", (table,))]
    # Rename without re-checking other objects' triggers and views mid-rebuild.
    op.execute("PRAGMA legacy_alter_table = ON")
    with op.batch_alter_table(table, recreate="always") as batch_op:
        change(batch_op)
    op.execute("PRAGMA legacy_alter_table = OFF")
    for sql in triggers:
        op.execute(sql)


def _replace_check(table: str, name: str, condition: str):
    def change(target):
        kwargs = {} if target is not op else {"table_name": table}
        target.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check", **kwargs)
        target.create_check_constraint(op.f(f"ck_{table}_{name}"), condition=condition, **kwargs)
    return change


def _attestation_cycles(target):
    kwargs = {} if target is not op else {"table_name": "attestations"}
    if target is op:
        op.add_column("attestations", sa.Column("cycle", sa.Integer(), server_default="0", nullable=False))
    else:
        target.add_column(sa.Column("cycle", sa.Integer(), server_default="0", nullable=False))
    target.drop_constraint(op.f("uq_attestations_person_id_edition_id"), type_="unique", **kwargs)
    target.create_unique_constraint(op.f("uq_attestations_person_id_edition_id_cycle"),
                                    columns=["person_id", "edition_id", "cycle"], **kwargs)


def _attestation_pairs(target):
    kwargs = {} if target is not op else {"table_name": "attestations"}
    target.drop_constraint(op.f("uq_attestations_person_id_edition_id_cycle"), type_="unique", **kwargs)
    target.create_unique_constraint(op.f("uq_attestations_person_id_edition_id"),
                                    columns=["person_id", "edition_id"], **kwargs)
    if target is op:
        op.drop_column("attestations", "cycle")
    else:
        target.drop_column("cycle")


def upgrade():
    _rebuild("access_requests", _replace_check("access_requests", "status_known", _in("status", REQUEST_STATUSES)))
    _rebuild("access_events", _replace_check("access_events", "kind_known", _in("kind", EVENT_KINDS)))
    _rebuild("attestations", _attestation_cycles)
    if _sqlite():
        _sqlite_revocation_triggers()
    else:
        _postgresql_revocation_trigger()
    _recount_revoked()


def _recount_revoked():
    """Certificates revoked before this migration stop counting now."""
    assignments = ", ".join(f"{target} = ({_COUNTING.format(column=_SOURCE[target])})" for target in _ATTESTED)
    op.execute(f"UPDATE training_progress SET {assignments} WHERE EXISTS (SELECT 1 FROM attestations a "
               "JOIN certificate_revocations r ON r.attestation_id = a.id "
               "WHERE a.person_id = training_progress.person_id "
               "AND a.manual_id = training_progress.manual_id)")


def _postgresql_revocation_trigger():
    assignments = ", ".join(f"{target} = ({_COUNTING.format(column=_SOURCE[target])})" for target in _ATTESTED)
    op.execute(f"""
        CREATE FUNCTION training_progress_recount_attested() RETURNS trigger AS $$
        DECLARE
            changed integer := CASE WHEN TG_OP = 'DELETE' THEN OLD.attestation_id ELSE NEW.attestation_id END;
        BEGIN
            UPDATE training_progress SET {assignments}
            WHERE (person_id, manual_id) = (SELECT person_id, manual_id FROM attestations WHERE id = changed);
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER certificate_revocations_recount AFTER INSERT OR DELETE ON certificate_revocations "
               "FOR EACH ROW EXECUTE FUNCTION training_progress_recount_attested()")


def _sqlite_revocation_triggers():
    assignments = ", ".join(f"{target} = ({_COUNTING.format(column=_SOURCE[target])})" for target in _ATTESTED)
    for verb, row in (("INSERT", "NEW"), ("DELETE", "OLD")):
        op.execute(f"CREATE TRIGGER certificate_revocations_recount_{verb.lower()} AFTER {verb} ON "
                   f"certificate_revocations BEGIN UPDATE training_progress SET {assignments} "
                   f"WHERE (person_id, manual_id) = (SELECT person_id, manual_id FROM attestations "
                   f"WHERE id = {row}.attestation_id); END")


def downgrade():
    if _sqlite():
        for verb in ("insert", "delete"):
            op.execute(f"DROP TRIGGER certificate_revocations_recount_{verb}")
    else:
        op.execute("DROP TRIGGER certificate_revocations_recount ON certificate_revocations")
        op.execute("DROP FUNCTION training_progress_recount_attested()")
    _rebuild("attestations", _attestation_pairs)
    _rebuild("access_events", _replace_check("access_events", "kind_known", _in("kind", OLD_EVENT_KINDS)))
    _rebuild("access_requests", _replace_check("access_requests", "status_known",
                                               _in("status", OLD_REQUEST_STATUSES)))
