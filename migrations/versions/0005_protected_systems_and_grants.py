"""protected systems and grants

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('protected_systems',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_ja', sa.String(length=200), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('purposes_json', sa.Text(), nullable=False),
    sa.Column('max_grant_days', sa.Integer(), nullable=False),
    sa.Column('request_expiry_days', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('max_grant_days >= 1', name=op.f('ck_protected_systems_max_grant_days_positive')),
    sa.CheckConstraint('request_expiry_days >= 1', name=op.f('ck_protected_systems_request_expiry_days_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protected_systems')),
    sa.UniqueConstraint('code', name=op.f('uq_protected_systems_code'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=60), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_api_tokens_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_system_id'), ['system_id'], unique=False)

    op.create_table('system_department_caps',
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('cap_percent', sa.Integer(), nullable=False),
    sa.CheckConstraint('cap_percent >= 0 AND cap_percent <= 100',
                       name=op.f('ck_system_department_caps_cap_percent_range')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_system_department_caps_department_id_departments')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_system_department_caps_system_id_protected_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('system_id', 'department_id', name=op.f('pk_system_department_caps'))
    )
    op.create_table('system_required_manuals',
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_system_required_manuals_manual_id_manuals')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_system_required_manuals_system_id_protected_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('system_id', 'manual_id', name=op.f('pk_system_required_manuals'))
    )
    op.create_table('access_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('training_gaps_json', sa.Text(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('approval_reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.CheckConstraint("status IN ('awaiting_approval', 'awaiting_grant', 'granted', 'refused_by_manager', "
                       "'refused_by_owner', 'expired')", name=op.f('ck_access_requests_status_known')),
    sa.ForeignKeyConstraint(['approver_id'], ['people.id'], name=op.f('fk_access_requests_approver_id_people')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['people.id'], name=op.f('fk_access_requests_decided_by_id_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_access_requests_person_id_people')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_requests_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_requests'))
    )
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_requests_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_access_requests_system_id_status', ['system_id', 'status'], unique=False)

    op.create_table('access_review_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['started_by_id'], ['people.id'],
                            name=op.f('fk_access_review_campaigns_started_by_id_people')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_review_campaigns_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_review_campaigns'))
    )
    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_review_campaigns_system_id'), ['system_id'], unique=False)

    op.create_table('system_grant_owners',
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_system_grant_owners_person_id_people')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_system_grant_owners_system_id_protected_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('system_id', 'person_id', name=op.f('pk_system_grant_owners'))
    )
    op.create_table('access_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('suspension_json', sa.Text(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=False),
    sa.Column('cap_overridden', sa.Boolean(), nullable=False),
    sa.CheckConstraint("state IN ('in_force', 'suspended', 'revoked', 'expired')",
                       name=op.f('ck_access_grants_state_known')),
    sa.CheckConstraint('expires_at > granted_at', name=op.f('ck_access_grants_expires_after_granted')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['people.id'], name=op.f('fk_access_grants_granted_by_id_people')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_access_grants_person_id_people')),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'],
                            name=op.f('fk_access_grants_request_id_access_requests')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['people.id'], name=op.f('fk_access_grants_revoked_by_id_people')),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_grants_system_id_protected_systems')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grants')),
    sa.UniqueConstraint('request_id', name=op.f('uq_access_grants_request_id'))
    )
    with op.batch_alter_table('access_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_grants_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_grants_state'), ['state'], unique=False)
        batch_op.create_index('ix_access_grants_system_id_person_id', ['system_id', 'person_id'], unique=False)

    op.create_table('access_decisions',
    sa.Column('system_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('allow', sa.Boolean(), nullable=False),
    sa.Column('reasons_json', sa.Text(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('recheck_at', sa.DateTime(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grants.id'],
                            name=op.f('fk_access_decisions_grant_id_access_grants')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_access_decisions_person_id_people'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['system_id'], ['protected_systems.id'],
                            name=op.f('fk_access_decisions_system_id_protected_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('system_id', 'person_id', name=op.f('pk_access_decisions'))
    )
    op.create_table('access_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state_after', sa.String(length=16), nullable=True),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('details_json', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('requested', 'approved', 'refused', 'granted', 'grant_refused', 'request_expired', "
                       "'suspended', 'resumed', 'reviewed', 'revoked', 'expired')",
                       name=op.f('ck_access_events_kind_known')),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_access_events_actor_id_people')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grants.id'], name=op.f('fk_access_events_grant_id_access_grants')),
    sa.ForeignKeyConstraint(['request_id'], ['access_requests.id'],
                            name=op.f('fk_access_events_request_id_access_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_events'))
    )
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.create_index('ix_access_events_grant_id_occurred_at', ['grant_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_events_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_events_request_id'), ['request_id'], unique=False)

    op.create_table('access_review_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('last_reminded_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("outcome IN ('pending', 'kept', 'revoked', 'missed')",
                       name=op.f('ck_access_review_items_outcome_known')),
    sa.ForeignKeyConstraint(['campaign_id'], ['access_review_campaigns.id'],
                            name=op.f('fk_access_review_items_campaign_id_access_review_campaigns')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grants.id'],
                            name=op.f('fk_access_review_items_grant_id_access_grants')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['people.id'],
                            name=op.f('fk_access_review_items_reviewed_by_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_review_items')),
    sa.UniqueConstraint('campaign_id', 'grant_id', name=op.f('uq_access_review_items_campaign_id_grant_id'))
    )
    with op.batch_alter_table('access_review_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_review_items_grant_id'), ['grant_id'], unique=False)



def downgrade():
    with op.batch_alter_table('access_review_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_review_items_grant_id'))

    op.drop_table('access_review_items')
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_events_request_id'))
        batch_op.drop_index(batch_op.f('ix_access_events_occurred_at'))
        batch_op.drop_index('ix_access_events_grant_id_occurred_at')

    op.drop_table('access_events')
    op.drop_table('access_decisions')
    with op.batch_alter_table('access_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_access_grants_system_id_person_id')
        batch_op.drop_index(batch_op.f('ix_access_grants_state'))
        batch_op.drop_index(batch_op.f('ix_access_grants_person_id'))

    op.drop_table('access_grants')
    op.drop_table('system_grant_owners')
    with op.batch_alter_table('access_review_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_review_campaigns_system_id'))

    op.drop_table('access_review_campaigns')
    with op.batch_alter_table('access_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_access_requests_system_id_status')
        batch_op.drop_index(batch_op.f('ix_access_requests_person_id'))

    op.drop_table('access_requests')
    op.drop_table('system_required_manuals')
    op.drop_table('system_department_caps')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_system_id'))

    op.drop_table('api_tokens')
    op.drop_table('protected_systems')
