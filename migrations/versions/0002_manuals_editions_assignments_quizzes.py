"""manuals editions assignments quizzes

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('manuals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('title_ja', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manuals')),
    sa.UniqueConstraint('slug', name=op.f('uq_manuals_slug'))
    )
    op.create_table('quiz_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('source_yaml', sa.Text(), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_quiz_versions_manual_id_manuals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_versions')),
    sa.UniqueConstraint('manual_id', 'content_hash', name=op.f('uq_quiz_versions_manual_id_content_hash'))
    )
    with op.batch_alter_table('quiz_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_versions_manual_id'), ['manual_id'], unique=False)

    op.create_table('manual_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('change_kind', sa.String(length=16), nullable=False),
    sa.Column('change_summary_ja', sa.Text(), nullable=False),
    sa.Column('change_summary_en', sa.Text(), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('source_text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('toc_json', sa.Text(), nullable=False),
    sa.Column('sections_json', sa.Text(), nullable=False),
    sa.Column('audience_json', sa.Text(), nullable=False),
    sa.Column('days_allowed', sa.Integer(), nullable=False),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('statement_ja', sa.Text(), nullable=False),
    sa.Column('statement_en', sa.Text(), nullable=False),
    sa.Column('quiz_version_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("change_kind IN ('material', 'minor')", name=op.f('ck_manual_editions_change_kind_known')),
    sa.CheckConstraint('days_allowed >= 0', name=op.f('ck_manual_editions_days_allowed_not_negative')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_manual_editions_number_positive')),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_manual_editions_manual_id_manuals')),
    sa.ForeignKeyConstraint(['published_by_id'], ['people.id'], name=op.f('fk_manual_editions_published_by_id_people')),
    sa.ForeignKeyConstraint(['quiz_version_id'], ['quiz_versions.id'],
                            name=op.f('fk_manual_editions_quiz_version_id_quiz_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_editions')),
    sa.UniqueConstraint('manual_id', 'number', name=op.f('uq_manual_editions_manual_id_number'))
    )
    with op.batch_alter_table('manual_editions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_manual_editions_manual_id'), ['manual_id'], unique=False)

    op.create_table('training_assignments',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('since_edition_id', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_training_assignments_manual_id_manuals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_training_assignments_person_id_people'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['since_edition_id'], ['manual_editions.id'],
                            name=op.f('fk_training_assignments_since_edition_id_manual_editions')),
    sa.PrimaryKeyConstraint('person_id', 'manual_id', name=op.f('pk_training_assignments'))
    )
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_assignments_manual_id'), ['manual_id'], unique=False)



def downgrade():
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_assignments_manual_id'))

    op.drop_table('training_assignments')
    with op.batch_alter_table('manual_editions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_manual_editions_manual_id'))

    op.drop_table('manual_editions')
    with op.batch_alter_table('quiz_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_versions_manual_id'))

    op.drop_table('quiz_versions')
    op.drop_table('manuals')
