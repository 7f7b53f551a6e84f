"""lookup requests

Look-up requests (照会依頼): the request with its current state, and its history. lookup_events is
append-only: triggers refuse UPDATE and DELETE on SQLite and PostgreSQL alike, so who approved, took
and answered a look-up stays checkable.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

#: Tables whose rows, once written, never change.
IMMUTABLE_TABLES = ("lookup_events",)


def upgrade():
    op.create_table('lookup_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=60), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('handler_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('checked', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('awaiting_approval', 'refused', 'awaiting_handler', 'in_progress', 'answered', "
                       "'withdrawn', 'expired')", name=op.f('ck_lookup_requests_status_known')),
    sa.CheckConstraint('approver_id IS NULL OR approver_id <> requester_id',
                       name=op.f('ck_lookup_requests_not_own_approval')),
    sa.CheckConstraint('handler_id IS NULL OR handler_id <> requester_id',
                       name=op.f('ck_lookup_requests_not_own_handling')),
    sa.CheckConstraint('handler_id IS NULL OR approver_id IS NULL OR handler_id <> approver_id',
                       name=op.f('ck_lookup_requests_approver_not_handler')),
    sa.ForeignKeyConstraint(['approver_id'], ['people.id'], name=op.f('fk_lookup_requests_approver_id_people')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_lookup_requests_department_id_departments')),
    sa.ForeignKeyConstraint(['handler_id'], ['people.id'], name=op.f('fk_lookup_requests_handler_id_people')),
    sa.ForeignKeyConstraint(['requester_id'], ['people.id'], name=op.f('fk_lookup_requests_requester_id_people')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_lookup_requests_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_requests'))
    )
    with op.batch_alter_table('lookup_requests', schema=None) as batch_op:
        batch_op.create_index('ix_lookup_requests_department_id_requested_at', ['department_id', 'requested_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_requests_handler_id'), ['handler_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_requests_requested_at'), ['requested_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lookup_requests_requester_id'), ['requester_id'], unique=False)
        batch_op.create_index('ix_lookup_requests_system_id_status', ['system_id', 'status'], unique=False)

    op.create_table('lookup_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status_after', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('requested', 'approved', 'refused', 'taken', 'answered', 'withdrawn', 'expired')",
                       name=op.f('ck_lookup_events_kind_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_lookup_events_actor_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['lookup_requests.id'],
                            name=op.f('fk_lookup_events_request_id_lookup_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_events'))
    )
    with op.batch_alter_table('lookup_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lookup_events_request_id'), ['request_id'], unique=False)

    _make_immutable()


def _make_immutable():
    """UPDATE and DELETE on the look-up history are refused by the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION lookup_rows_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is immutable (% refused)', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in IMMUTABLE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION lookup_rows_immutable()"
            )
        return
    for table in IMMUTABLE_TABLES:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is immutable ({verb} refused)'); END"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in IMMUTABLE_TABLES:
            op.execute(f"DROP TRIGGER {table}_immutable ON {table}")
        op.execute("DROP FUNCTION lookup_rows_immutable()")
    else:
        for table in IMMUTABLE_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    with op.batch_alter_table('lookup_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lookup_events_request_id'))

    op.drop_table('lookup_events')
    with op.batch_alter_table('lookup_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_lookup_requests_system_id_status')
        batch_op.drop_index(batch_op.f('ix_lookup_requests_requester_id'))
        batch_op.drop_index(batch_op.f('ix_lookup_requests_requested_at'))
        batch_op.drop_index(batch_op.f('ix_lookup_requests_handler_id'))
        batch_op.drop_index('ix_lookup_requests_department_id_requested_at')

    op.drop_table('lookup_requests')
