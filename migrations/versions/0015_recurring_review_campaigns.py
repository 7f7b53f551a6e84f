"""recurring review campaigns: a system's recurrence, campaigns the schedule starts

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('protected_systems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_every_months', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('review_deadline_days', sa.Integer(), server_default='14', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_protected_systems_review_every_months_range'),
            'review_every_months IS NULL OR (review_every_months >= 1 AND review_every_months <= 24)')
        batch_op.create_check_constraint(
            op.f('ck_protected_systems_review_deadline_days_range'),
            'review_deadline_days >= 1 AND review_deadline_days <= 90')

    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recurrence_key', sa.String(length=40), nullable=True))
        batch_op.alter_column('started_by_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_access_review_campaigns_system_id_recurrence_key'),
                                          ['system_id', 'recurrence_key'])


def downgrade():
    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_access_review_campaigns_system_id_recurrence_key'), type_='unique')
        batch_op.alter_column('started_by_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('recurrence_key')

    with op.batch_alter_table('protected_systems', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_protected_systems_review_deadline_days_range'), type_='check')
        batch_op.drop_constraint(op.f('ck_protected_systems_review_every_months_range'), type_='check')
        batch_op.drop_column('review_deadline_days')
        batch_op.drop_column('review_every_months')
