"""corrective instructions and lookups

Corrective instructions (是正指示): instructions, their frozen recipients, attachments,
acknowledgements and reminders. All five tables are append-only: triggers refuse UPDATE
and DELETE on SQLite and PostgreSQL alike. (Look-up requests come in a later change.)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

#: Tables whose rows, once written, never change: what was instructed stays checkable.
IMMUTABLE_TABLES = (
    "instructions", "instruction_recipients", "instruction_attachments",
    "instruction_acknowledgements", "instruction_reminders",
)


def upgrade():
    op.create_table('instructions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body_md', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('issuer_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('acknowledge_by', sa.Date(), nullable=False),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('recipient_spec_json', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_instructions_title_not_empty')),
    sa.ForeignKeyConstraint(['corrects_id'], ['instructions.id'],
                            name=op.f('fk_instructions_corrects_id_instructions')),
    sa.ForeignKeyConstraint(['issuer_id'], ['people.id'], name=op.f('fk_instructions_issuer_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instructions')),
    sa.UniqueConstraint('corrects_id', name=op.f('uq_instructions_corrects_id'))
    )
    with op.batch_alter_table('instructions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instructions_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_instructions_issuer_id'), ['issuer_id'], unique=False)

    op.create_table('instruction_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instruction_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("content_type IN ('application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp')",
                       name=op.f('ck_instruction_attachments_content_type_known')),
    sa.CheckConstraint('size_bytes > 0', name=op.f('ck_instruction_attachments_not_empty')),
    sa.ForeignKeyConstraint(['instruction_id'], ['instructions.id'],
                            name=op.f('fk_instruction_attachments_instruction_id_instructions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_attachments')),
    sa.UniqueConstraint('instruction_id', 'position', name=op.f('uq_instruction_attachments_instruction_id_position'))
    )
    with op.batch_alter_table('instruction_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_attachments_instruction_id'), ['instruction_id'], unique=False)

    op.create_table('instruction_recipients',
    sa.Column('instruction_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_instruction_recipients_department_id_departments')),
    sa.ForeignKeyConstraint(['instruction_id'], ['instructions.id'],
                            name=op.f('fk_instruction_recipients_instruction_id_instructions')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_instruction_recipients_person_id_people')),
    sa.PrimaryKeyConstraint('instruction_id', 'person_id', name=op.f('pk_instruction_recipients'))
    )
    with op.batch_alter_table('instruction_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_recipients_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruction_recipients_person_id'), ['person_id'], unique=False)

    op.create_table('instruction_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instruction_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('reminded_by_id', sa.Integer(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instruction_id'], ['instructions.id'],
                            name=op.f('fk_instruction_reminders_instruction_id_instructions')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_instruction_reminders_person_id_people')),
    sa.ForeignKeyConstraint(['reminded_by_id'], ['people.id'],
                            name=op.f('fk_instruction_reminders_reminded_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_reminders'))
    )
    with op.batch_alter_table('instruction_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_reminders_instruction_id'), ['instruction_id'], unique=False)

    op.create_table('instruction_acknowledgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instruction_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
    sa.Column('client', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['instruction_id', 'person_id'],
                            ['instruction_recipients.instruction_id', 'instruction_recipients.person_id'],
                            name=op.f('fk_instruction_acknowledgements_instruction_id_instruction_recipients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruction_acknowledgements')),
    sa.UniqueConstraint('instruction_id', 'person_id',
                        name=op.f('uq_instruction_acknowledgements_instruction_id_person_id'))
    )
    with op.batch_alter_table('instruction_acknowledgements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruction_acknowledgements_person_id'), ['person_id'], unique=False)

    _make_immutable()


def _make_immutable():
    """UPDATE and DELETE on the instruction tables are refused by the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION instruction_rows_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is immutable (% refused)', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in IMMUTABLE_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION instruction_rows_immutable()"
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
        op.execute("DROP FUNCTION instruction_rows_immutable()")
    else:
        for table in IMMUTABLE_TABLES:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    with op.batch_alter_table('instruction_acknowledgements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_acknowledgements_person_id'))

    op.drop_table('instruction_acknowledgements')
    with op.batch_alter_table('instruction_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_reminders_instruction_id'))

    op.drop_table('instruction_reminders')
    with op.batch_alter_table('instruction_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_recipients_person_id'))
        batch_op.drop_index(batch_op.f('ix_instruction_recipients_department_id'))

    op.drop_table('instruction_recipients')
    with op.batch_alter_table('instruction_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruction_attachments_instruction_id'))

    op.drop_table('instruction_attachments')
    with op.batch_alter_table('instructions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instructions_issuer_id'))
        batch_op.drop_index(batch_op.f('ix_instructions_issued_at'))

    op.drop_table('instructions')
