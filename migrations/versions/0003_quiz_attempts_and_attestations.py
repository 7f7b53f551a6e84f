"""quiz attempts and attestations

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('edition_id', sa.Integer(), nullable=False),
    sa.Column('edition_number', sa.Integer(), nullable=False),
    sa.Column('quiz_version_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('drawn_json', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('answers_json', sa.Text(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('question_count', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.CheckConstraint("mode IN ('full', 'changed_sections')", name=op.f('ck_quiz_attempts_mode_known')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('passed', 'failed', 'timed_out')",
                       name=op.f('ck_quiz_attempts_outcome_known')),
    sa.CheckConstraint("outcome IS NULL OR passed = (outcome = 'passed')",
                       name=op.f('ck_quiz_attempts_passed_matches_outcome')),
    sa.CheckConstraint('(submitted_at IS NULL) = (outcome IS NULL)',
                       name=op.f('ck_quiz_attempts_outcome_iff_submitted')),
    sa.ForeignKeyConstraint(['edition_id'], ['manual_editions.id'],
                            name=op.f('fk_quiz_attempts_edition_id_manual_editions')),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_quiz_attempts_manual_id_manuals')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_quiz_attempts_person_id_people')),
    sa.ForeignKeyConstraint(['quiz_version_id'], ['quiz_versions.id'],
                            name=op.f('fk_quiz_attempts_quiz_version_id_quiz_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempts'))
    )
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempts_edition_id'), ['edition_id'], unique=False)
        batch_op.create_index('ix_quiz_attempts_person_manual', ['person_id', 'manual_id'], unique=False)
        batch_op.create_index('uq_quiz_attempts_open_per_edition', ['person_id', 'edition_id'], unique=True,
                              sqlite_where=sa.text('submitted_at IS NULL'),
                              postgresql_where=sa.text('submitted_at IS NULL'))

    op.create_table('attestations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('edition_id', sa.Integer(), nullable=False),
    sa.Column('edition_number', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('edition_content_hash', sa.String(length=64), nullable=False),
    sa.Column('statement_hash', sa.String(length=64), nullable=False),
    sa.Column('statement_locale', sa.String(length=8), nullable=False),
    sa.Column('attested_at', sa.DateTime(), nullable=False),
    sa.Column('client_address', sa.String(length=80), nullable=False),
    sa.Column('user_agent', sa.String(length=400), nullable=False),
    sa.Column('verification_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'],
                            name=op.f('fk_attestations_attempt_id_quiz_attempts')),
    sa.ForeignKeyConstraint(['edition_id'], ['manual_editions.id'],
                            name=op.f('fk_attestations_edition_id_manual_editions')),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_attestations_manual_id_manuals')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_attestations_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestations')),
    sa.UniqueConstraint('attempt_id', name=op.f('uq_attestations_attempt_id')),
    sa.UniqueConstraint('person_id', 'edition_id', name=op.f('uq_attestations_person_id_edition_id')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_attestations_verification_code'))
    )
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attestations_manual_id'), ['manual_id'], unique=False)
        batch_op.create_index('ix_attestations_person_manual', ['person_id', 'manual_id'], unique=False)

    op.create_table('training_progress',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('attested_edition_id', sa.Integer(), nullable=True),
    sa.Column('attested_edition_number', sa.Integer(), nullable=True),
    sa.Column('attested_at', sa.DateTime(), nullable=True),
    sa.Column('started_edition_number', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['attested_edition_id'], ['manual_editions.id'],
                            name=op.f('fk_training_progress_attested_edition_id_manual_editions')),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_training_progress_manual_id_manuals'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_training_progress_person_id_people'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'manual_id', name=op.f('pk_training_progress'))
    )
    with op.batch_alter_table('training_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_progress_manual_id'), ['manual_id'], unique=False)
        batch_op.create_index('ix_training_progress_status',
                              ['person_id', 'manual_id', 'attested_edition_number', 'attested_at',
                               'started_edition_number'], unique=False)

    # The training feature's index on the manuals feature's table (see portal/training/models.py).
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_training_assignments_status', ['person_id', 'manual_id', 'due_date'], unique=False)

    _protect_evidence()


def _protect_evidence():
    """Attestations are never changed or deleted; a submitted attempt is never changed."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION training_evidence_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER attestations_no_update_delete BEFORE UPDATE OR DELETE ON attestations "
            "FOR EACH ROW EXECUTE FUNCTION training_evidence_immutable()"
        )
        op.execute(
            "CREATE TRIGGER quiz_attempts_submitted_immutable BEFORE UPDATE OR DELETE ON quiz_attempts "
            "FOR EACH ROW WHEN (OLD.submitted_at IS NOT NULL) EXECUTE FUNCTION training_evidence_immutable()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER attestations_no_{verb.lower()} BEFORE {verb} ON attestations "
            f"BEGIN SELECT RAISE(ABORT, 'attestations is append-only ({verb} refused)'); END"
        )
        op.execute(
            f"CREATE TRIGGER quiz_attempts_submitted_no_{verb.lower()} BEFORE {verb} ON quiz_attempts "
            f"WHEN OLD.submitted_at IS NOT NULL "
            f"BEGIN SELECT RAISE(ABORT, 'quiz_attempts is append-only once submitted ({verb} refused)'); END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER quiz_attempts_submitted_immutable ON quiz_attempts")
        op.execute("DROP TRIGGER attestations_no_update_delete ON attestations")
        op.execute("DROP FUNCTION training_evidence_immutable()")
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_training_assignments_status')
    with op.batch_alter_table('training_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_training_progress_status')
        batch_op.drop_index(batch_op.f('ix_training_progress_manual_id'))

    op.drop_table('training_progress')
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.drop_index('ix_attestations_person_manual')
        batch_op.drop_index(batch_op.f('ix_attestations_manual_id'))

    op.drop_table('attestations')
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_quiz_attempts_open_per_edition', sqlite_where=sa.text('submitted_at IS NULL'),
                            postgresql_where=sa.text('submitted_at IS NULL'))
        batch_op.drop_index('ix_quiz_attempts_person_manual')
        batch_op.drop_index(batch_op.f('ix_quiz_attempts_edition_id'))

    op.drop_table('quiz_attempts')
