"""certificates and reminders

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('completion_cells',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('current', sa.Integer(), nullable=False),
    sa.Column('due', sa.Integer(), nullable=False),
    sa.Column('in_progress', sa.Integer(), nullable=False),
    sa.Column('not_started', sa.Integer(), nullable=False),
    sa.Column('overdue', sa.Integer(), nullable=False),
    sa.Column('expired', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_completion_cells_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_completion_cells_manual_id_manuals'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', 'manual_id', name=op.f('pk_completion_cells'))
    )
    op.create_table('completion_snapshots',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('assigned_pairs', sa.Integer(), nullable=False),
    sa.Column('current_pairs', sa.Integer(), nullable=False),
    sa.Column('overdue_pairs', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('current_pairs <= assigned_pairs', name=op.f('ck_completion_snapshots_current_within_assigned')),
    sa.CheckConstraint('overdue_pairs <= assigned_pairs', name=op.f('ck_completion_snapshots_overdue_within_assigned')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_completion_snapshots_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('day', 'department_id', name=op.f('pk_completion_snapshots'))
    )
    op.create_table('reminder_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=True),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('claimed_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(kind = 'digest') = (manual_id IS NULL)", name=op.f('ck_reminder_log_manual_unless_digest')),
    sa.CheckConstraint("kind IN ('due_soon', 'overdue', 'digest')", name=op.f('ck_reminder_log_kind_known')),
    sa.CheckConstraint("origin IN ('scheduled', 'manager')", name=op.f('ck_reminder_log_origin_known')),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_reminder_log_manual_id_manuals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_reminder_log_person_id_people'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['people.id'], name=op.f('fk_reminder_log_requested_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_log'))
    )
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.create_index('ix_reminder_log_day_sent', ['day', 'sent_at'], unique=False)
        batch_op.create_index('uq_reminder_log_per_manual', ['person_id', 'kind', 'day', 'manual_id'], unique=True,
                              sqlite_where=sa.text('manual_id IS NOT NULL'),
                              postgresql_where=sa.text('manual_id IS NOT NULL'))
        batch_op.create_index('uq_reminder_log_per_person', ['person_id', 'kind', 'day'], unique=True,
                              sqlite_where=sa.text('manual_id IS NULL'), postgresql_where=sa.text('manual_id IS NULL'))

    op.create_table('certificate_revocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attestation_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revoked_by_id', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attestation_id'], ['attestations.id'],
                            name=op.f('fk_certificate_revocations_attestation_id_attestations')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['people.id'],
                            name=op.f('fk_certificate_revocations_revoked_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_revocations')),
    sa.UniqueConstraint('attestation_id', name=op.f('uq_certificate_revocations_attestation_id'))
    )


def downgrade():
    op.drop_table('certificate_revocations')
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.drop_index('uq_reminder_log_per_person', sqlite_where=sa.text('manual_id IS NULL'),
                            postgresql_where=sa.text('manual_id IS NULL'))
        batch_op.drop_index('uq_reminder_log_per_manual', sqlite_where=sa.text('manual_id IS NOT NULL'),
                            postgresql_where=sa.text('manual_id IS NOT NULL'))
        batch_op.drop_index('ix_reminder_log_day_sent')

    op.drop_table('reminder_log')
    op.drop_table('completion_snapshots')
    op.drop_table('completion_cells')
