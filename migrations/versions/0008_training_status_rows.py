"""training status rows

Revision ID: 0008
Revises: 0007

Materialised training statuses (now portal/training/status/stored.py): one row per assigned
person × manual with the facts the rule needs, per-department counts, and the day they were
last settled. Triggers mark a row pending in the same transaction as any change to its facts
(assignments, progress, editions, a person's department or active flag), whoever writes them.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

#: training_status_rows.stale_from of a row whose facts changed (before every real day).
STALE_NOW = "1900-01-01"
#: Tables whose rows are keyed (person_id, manual_id) and feed the status rule.
PAIR_TABLES = ("training_assignments", "training_progress")
STATUS_COLUMNS = ("current", "due", "in_progress", "not_started", "overdue", "expired")


def upgrade():
    op.create_table('training_status_rows',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('pending', sa.Boolean(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('standing', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('attested_edition_number', sa.Integer(), nullable=True),
    sa.Column('attested_at', sa.DateTime(), nullable=True),
    sa.Column('counted_status', sa.String(length=16), nullable=True),
    sa.Column('stale_from', sa.Date(), nullable=True),
    sa.CheckConstraint('standing IS NULL OR standing BETWEEN 0 AND 3',
                       name=op.f('ck_training_status_rows_standing_known')),
    sa.PrimaryKeyConstraint('person_id', 'manual_id', name=op.f('pk_training_status_rows')),
    sqlite_with_rowid=False
    )
    op.create_index('ix_training_status_rows_stale_from', 'training_status_rows', ['stale_from'], unique=False)
    op.create_table('training_status_counts',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    *(sa.Column(status, sa.Integer(), nullable=False) for status in STATUS_COLUMNS),
    sa.PrimaryKeyConstraint('department_id', 'manual_id', name=op.f('pk_training_status_counts'))
    )
    op.create_table('training_status_settle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_training_status_settle_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_status_settle'))
    )
    # Every existing pair starts pending (decided live, exactly) until `portal training rebuild-status`
    # or the daily settle; nothing is counted yet.
    true = "true" if op.get_bind().dialect.name == "postgresql" else "1"
    op.execute(f"INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from) "
               f"SELECT person_id, manual_id, {true}, '{STALE_NOW}' FROM training_assignments")
    op.execute(f"INSERT INTO training_status_settle (id, settled_on, settled_at) "
               f"VALUES (1, '{STALE_NOW}', CURRENT_TIMESTAMP)")
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers():
    # Statement-level with transition tables: publishing to 50,000 people marks 50,000 rows in one statement.
    op.execute(f"""
        CREATE FUNCTION training_status_touch_pairs() RETURNS trigger AS $$
        BEGIN
            INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from)
            SELECT DISTINCT person_id, manual_id, true, DATE '{STALE_NOW}' FROM changed_pairs
            ON CONFLICT (person_id, manual_id) DO UPDATE SET pending = true, stale_from = DATE '{STALE_NOW}'
            WHERE NOT training_status_rows.pending;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""")
    op.execute(f"""
        CREATE FUNCTION training_status_touch_manuals() RETURNS trigger AS $$
        BEGIN
            UPDATE training_status_rows SET pending = true, stale_from = DATE '{STALE_NOW}'
            WHERE manual_id IN (SELECT manual_id FROM changed_editions) AND NOT pending;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""")
    op.execute(f"""
        CREATE FUNCTION training_status_touch_person() RETURNS trigger AS $$
        BEGIN
            INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from)
            SELECT person_id, manual_id, true, DATE '{STALE_NOW}' FROM training_assignments
            WHERE person_id = NEW.id
            ON CONFLICT (person_id, manual_id) DO UPDATE SET pending = true, stale_from = DATE '{STALE_NOW}'
            WHERE NOT training_status_rows.pending;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql""")
    for table in PAIR_TABLES:
        for verb, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(f"CREATE TRIGGER {table}_status_{verb.lower()} AFTER {verb} ON {table} "
                       f"REFERENCING {transition} TABLE AS changed_pairs "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION training_status_touch_pairs()")
    for verb, transition in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(f"CREATE TRIGGER manual_editions_status_{verb.lower()} AFTER {verb} ON manual_editions "
                   f"REFERENCING {transition} TABLE AS changed_editions "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION training_status_touch_manuals()")
    op.execute("CREATE TRIGGER people_status_update AFTER UPDATE OF department_id, active ON people FOR EACH ROW "
               "WHEN (OLD.department_id IS DISTINCT FROM NEW.department_id OR OLD.active IS DISTINCT FROM NEW.active) "
               "EXECUTE FUNCTION training_status_touch_person()")


def _sqlite_touch(person: str, manual: str) -> str:
    # NOT EXISTS rather than INSERT OR IGNORE: an outer upsert's conflict policy overrides a trigger's.
    return (f"INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from) "
            f"SELECT {person}, {manual}, 1, '{STALE_NOW}' WHERE NOT EXISTS (SELECT 1 FROM training_status_rows "
            f"WHERE person_id = {person} AND manual_id = {manual}); "
            f"UPDATE training_status_rows SET pending = 1, stale_from = '{STALE_NOW}' "
            f"WHERE person_id = {person} AND manual_id = {manual} AND pending = 0;")


def _sqlite_triggers():
    for table in PAIR_TABLES:
        for verb, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            op.execute(f"CREATE TRIGGER {table}_status_{verb.lower()} AFTER {verb} ON {table} "
                       f"BEGIN {_sqlite_touch(f'{row}.person_id', f'{row}.manual_id')} END")
    for verb, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        op.execute(f"CREATE TRIGGER manual_editions_status_{verb.lower()} AFTER {verb} ON manual_editions "
                   f"BEGIN UPDATE training_status_rows SET pending = 1, stale_from = '{STALE_NOW}' "
                   f"WHERE manual_id = {row}.manual_id AND pending = 0; END")
    op.execute(
        "CREATE TRIGGER people_status_update AFTER UPDATE OF department_id, active ON people "
        "WHEN OLD.department_id IS NOT NEW.department_id OR OLD.active IS NOT NEW.active "
        "BEGIN "
        "INSERT INTO training_status_rows (person_id, manual_id, pending, stale_from) "
        f"SELECT a.person_id, a.manual_id, 1, '{STALE_NOW}' FROM training_assignments a WHERE a.person_id = NEW.id "
        "AND NOT EXISTS (SELECT 1 FROM training_status_rows r WHERE r.person_id = a.person_id "
        "AND r.manual_id = a.manual_id); "
        f"UPDATE training_status_rows SET pending = 1, stale_from = '{STALE_NOW}' "
        "WHERE person_id = NEW.id AND pending = 0; "
        "END")


def downgrade():
    for table in PAIR_TABLES + ("manual_editions",):
        for verb in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER {table}_status_{verb}" +
                       (f" ON {table}" if op.get_bind().dialect.name == "postgresql" else ""))
    op.execute("DROP TRIGGER people_status_update" +
               (" ON people" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        for function in ("touch_pairs", "touch_manuals", "touch_person"):
            op.execute(f"DROP FUNCTION training_status_{function}()")
    op.drop_table('training_status_settle')
    op.drop_table('training_status_counts')
    op.drop_index('ix_training_status_rows_stale_from', table_name='training_status_rows')
    op.drop_table('training_status_rows')
