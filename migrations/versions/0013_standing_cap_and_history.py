"""standing cap and history that cannot drift

Revision ID: 0013
Revises: 0012

Caps as a number of people as well as a percentage; grants that wait for room under their
department's cap (waiting_for_room) and the department each grant counts in; the department
each grant event happened in; transfers waiting for the new manager's confirmation; cap excesses
(HR changes shrank a department below what its holders allow); a daily coverage snapshot; and
person_department_history, every department and active change of a person. access_events,
person_department_history and access_coverage_snapshots are append-only: triggers refuse UPDATE
and DELETE (and TRUNCATE on PostgreSQL), like the audit trail.

SQLite cannot alter a CHECK or NOT NULL constraint, and rebuilding access_grants would have to
drop a table other tables refer to; the loosened constraints are written into the schema text
instead (SQLite's documented writable_schema procedure, safe because every stored row already
satisfies the new constraints).
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

APPEND_ONLY = ("access_events", "person_department_history", "access_coverage_snapshots")
OLD_STATES = "state IN ('in_force', 'suspended', 'revoked', 'expired')"
NEW_STATES = "state IN ('in_force', 'suspended', 'waiting_for_room', 'revoked', 'expired')"
OLD_KINDS = ("requested", "approved", "refused", "granted", "grant_refused", "request_expired", "suspended",
             "resumed", "reviewed", "revoked", "expired", "awaiting_training",
             "training_completed")  # as 0011 left them
NEW_KINDS = OLD_KINDS + ("queued", "transferred", "transfer_approved")


def _kinds(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    _caps_in_people()
    _grant_columns()
    _event_department()
    _new_tables()
    _backfill()
    _append_only()


def _sqlite_rewrite(table: str, replacements) -> None:
    """Edit a table's schema text (only to loosen or add constraints its rows already meet)."""
    bind = op.get_bind()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar()
    for old, new in replacements:
        if old not in sql:
            raise RuntimeError(f"{table}: expected {old!r} in its schema")
        sql = sql.replace(old, new, 1)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _caps_in_people():
    op.add_column("system_department_caps", sa.Column("cap_people", sa.Integer(), nullable=True))
    people_range = "cap_people IS NULL OR cap_people >= 0"
    one_kind = "(cap_percent IS NULL) <> (cap_people IS NULL)"
    if _is_postgresql():
        op.alter_column("system_department_caps", "cap_percent", existing_type=sa.Integer(), nullable=True)
        op.create_check_constraint(op.f("ck_system_department_caps_cap_people_range"), "system_department_caps",
                                   people_range)
        op.create_check_constraint(op.f("ck_system_department_caps_one_kind"), "system_department_caps", one_kind)
        return
    _sqlite_rewrite("system_department_caps", [
        ("cap_percent INTEGER NOT NULL", "cap_percent INTEGER"),
        ("CONSTRAINT ck_system_department_caps_cap_percent_range",
         f"CONSTRAINT ck_system_department_caps_cap_people_range CHECK ({people_range}), "
         f"CONSTRAINT ck_system_department_caps_one_kind CHECK ({one_kind}), "
         "CONSTRAINT ck_system_department_caps_cap_percent_range"),
    ])


def _grant_columns():
    op.add_column("access_grants", sa.Column("department_id", sa.Integer(), nullable=True))
    op.add_column("access_grants", sa.Column("waiting_since", sa.DateTime(), nullable=True))
    op.create_index("ix_access_grants_system_id_department_id_state", "access_grants",
                    ["system_id", "department_id", "state"], unique=False)
    if _is_postgresql():
        op.create_foreign_key(op.f("fk_access_grants_department_id_departments"), "access_grants", "departments",
                              ["department_id"], ["id"])
        op.drop_constraint(op.f("ck_access_grants_state_known"), "access_grants", type_="check")
        op.create_check_constraint(op.f("ck_access_grants_state_known"), "access_grants", NEW_STATES)
        return
    _sqlite_rewrite("access_grants", [
        (OLD_STATES, NEW_STATES),
        ("CONSTRAINT fk_access_grants_granted_by_id_people",
         "CONSTRAINT fk_access_grants_department_id_departments "
         "FOREIGN KEY(department_id) REFERENCES departments (id), "
         "CONSTRAINT fk_access_grants_granted_by_id_people"),
    ])


def _event_department():
    op.add_column("access_events", sa.Column("department_id", sa.Integer(), nullable=True))
    if _is_postgresql():
        op.create_foreign_key(op.f("fk_access_events_department_id_departments"), "access_events", "departments",
                              ["department_id"], ["id"])
        op.drop_constraint(op.f("ck_access_events_kind_known"), "access_events", type_="check")
        op.create_check_constraint(op.f("ck_access_events_kind_known"), "access_events", _kinds(NEW_KINDS))
        return
    _sqlite_rewrite("access_events", [
        (_kinds(OLD_KINDS), _kinds(NEW_KINDS)),
        ("CONSTRAINT fk_access_events_actor_id_people",
         "CONSTRAINT fk_access_events_department_id_departments "
         "FOREIGN KEY(department_id) REFERENCES departments (id), "
         "CONSTRAINT fk_access_events_actor_id_people"),
    ])


def _new_tables():
    op.create_table('person_department_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_person_department_history_department_id_departments')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_department_history_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_department_history'))
    )
    op.create_index('ix_person_department_history_person_id_valid_from', 'person_department_history',
                    ['person_id', 'valid_from'], unique=False)
    op.create_table('access_transfer_confirmations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('from_department_id', sa.Integer(), nullable=True),
    sa.Column('to_department_id', sa.Integer(), nullable=False),
    sa.Column('moved_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.CheckConstraint("outcome IN ('pending', 'approved', 'refused', 'superseded')",
                       name=op.f('ck_access_transfer_confirmations_outcome_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['people.id'],
                            name=op.f('fk_access_transfer_confirmations_decided_by_id_people')),
    sa.ForeignKeyConstraint(['from_department_id'], ['departments.id'],
                            name=op.f('fk_access_transfer_confirmations_from_department_id_departments')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grants.id'],
                            name=op.f('fk_access_transfer_confirmations_grant_id_access_grants')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'],
                            name=op.f('fk_access_transfer_confirmations_person_id_people')),
    sa.ForeignKeyConstraint(['to_department_id'], ['departments.id'],
                            name=op.f('fk_access_transfer_confirmations_to_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_transfer_confirmations'))
    )
    op.create_index('ix_access_transfer_confirmations_outcome_to_department_id', 'access_transfer_confirmations',
                    ['outcome', 'to_department_id'], unique=False)
    op.create_index(op.f('ix_access_transfer_confirmations_grant_id'), 'access_transfer_confirmations', ['grant_id'],
                    unique=False)
    op.create_table('access_cap_excesses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('cap_limit', sa.Integer(), nullable=False),
    sa.Column('in_force', sa.Integer(), nullable=False),
    sa.Column('overridden', sa.Integer(), nullable=False),
    sa.Column('excess', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_access_cap_excesses_department_id_departments')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_cap_excesses_system_id_protected_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_cap_excesses'))
    )
    op.create_index('uq_access_cap_excesses_open', 'access_cap_excesses', ['system_id', 'department_id'],
                    unique=True, sqlite_where=sa.text('closed_at IS NULL'),
                    postgresql_where=sa.text('closed_at IS NULL'))
    op.create_table('access_coverage_snapshots',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('headcount', sa.Integer(), nullable=False),
    sa.Column('in_force', sa.Integer(), nullable=False),
    sa.Column('suspended', sa.Integer(), nullable=False),
    sa.Column('waiting', sa.Integer(), nullable=False),
    sa.Column('cap_limit', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_access_coverage_snapshots_department_id_departments')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_coverage_snapshots_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('day', 'system_id', 'department_id', name=op.f('pk_access_coverage_snapshots'))
    )


def _backfill():
    # Existing grants count in their holder's department, and past events are put in the
    # requester's department as it is now (the best that can be known about the past).
    op.execute("UPDATE access_grants SET department_id = "
               "(SELECT people.department_id FROM people WHERE people.id = access_grants.person_id)")
    op.execute("UPDATE access_events SET department_id = (SELECT people.department_id FROM access_requests "
               "JOIN people ON people.id = access_requests.person_id WHERE access_requests.id = "
               "access_events.request_id)")
    # Everyone's history starts when they were registered; a person inactive now stopped being
    # active when their record last changed (what the coverage report assumed until now).
    true, false = ("true", "false") if _is_postgresql() else ("1", "0")
    op.execute("INSERT INTO person_department_history (person_id, department_id, active, valid_from, recorded_at) "
               f"SELECT id, department_id, {true}, created_at, created_at FROM people")
    op.execute("INSERT INTO person_department_history (person_id, department_id, active, valid_from, recorded_at) "
               f"SELECT id, department_id, {false}, updated_at, updated_at FROM people WHERE active = {false}")


def _append_only():
    """UPDATE and DELETE on the history tables are refused by the database itself."""
    if _is_postgresql():
        op.execute(
            """
            CREATE FUNCTION history_rows_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_update_delete BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION history_rows_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION history_rows_append_only()")
        return
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only ({verb} refused)'); END")


def downgrade():
    if _is_postgresql():
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_update_delete ON {table}")
        op.execute("DROP FUNCTION history_rows_append_only()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    op.drop_table('access_coverage_snapshots')
    op.drop_index('uq_access_cap_excesses_open', table_name='access_cap_excesses')
    op.drop_table('access_cap_excesses')
    op.drop_index(op.f('ix_access_transfer_confirmations_grant_id'), table_name='access_transfer_confirmations')
    op.drop_index('ix_access_transfer_confirmations_outcome_to_department_id',
                  table_name='access_transfer_confirmations')
    op.drop_table('access_transfer_confirmations')
    op.drop_index('ix_person_department_history_person_id_valid_from', table_name='person_department_history')
    op.drop_table('person_department_history')
    op.drop_index('ix_access_grants_system_id_department_id_state', table_name='access_grants')
    # The added columns and loosened constraints stay (SQLite cannot drop them without a rebuild);
    # the code of revision 0008 ignores them.
