"""one count cache: completion_cells goes, the heat map reads training_status_counts

Revision ID: 0016_engine
Revises: 0015

The organisation heat map read a copy of the counts frozen at the last daily pass
(completion_cells, the same columns as training_status_counts). It now reads the training-status
engine's counts (portal/training/status), exact at any moment, so the copy is dropped. The daily
trend keeps its own history (completion_snapshots, unchanged). A downgrade recreates the table
and fills it from the counts as last settled, so the older code's heat map has figures at once.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_engine"
down_revision = "0015"
branch_labels = None
depends_on = None

STATUS_COLUMNS = ("current", "due", "in_progress", "not_started", "overdue", "expired")


def upgrade():
    op.drop_table("completion_cells")


def downgrade():
    op.create_table('completion_cells',
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    *(sa.Column(name, sa.Integer(), nullable=False) for name in STATUS_COLUMNS),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                            name=op.f('fk_completion_cells_department_id_departments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_completion_cells_manual_id_manuals'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', 'manual_id', name=op.f('pk_completion_cells'))
    )
    counts = sa.table("training_status_counts", sa.column("department_id"), sa.column("manual_id"),
                      *(sa.column(name) for name in STATUS_COLUMNS))
    settle = sa.table("training_status_settle", sa.column("id"), sa.column("settled_on"), sa.column("settled_at"))
    departments, manuals = sa.table("departments", sa.column("id")), sa.table("manuals", sa.column("id"))
    cells = sa.table("completion_cells", sa.column("department_id"), sa.column("manual_id"),
                     *(sa.column(name) for name in STATUS_COLUMNS), sa.column("computed_at"), sa.column("as_of"))
    op.execute(cells.insert().from_select(
        ["department_id", "manual_id", *STATUS_COLUMNS, "computed_at", "as_of"],
        sa.select(counts.c.department_id, counts.c.manual_id, *(counts.c[name] for name in STATUS_COLUMNS),
                  settle.c.settled_at, settle.c.settled_on)
        .join(settle, settle.c.id == 1)
        .where(settle.c.settled_on.is_not(None),
               counts.c.department_id.in_(sa.select(departments.c.id)),
               counts.c.manual_id.in_(sa.select(manuals.c.id)))))
