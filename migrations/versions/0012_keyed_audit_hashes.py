"""keyed audit hashes

Revision ID: 0012
Revises: 0011

Audit events record how their hash was made: hash_scheme 1 (plain SHA-256, every event written
before this revision) or 2 (HMAC-SHA256 with the audit key kept outside the database), and the
fingerprint of that key. Plain ADD COLUMN: the table is not rebuilt, so its append-only
triggers stay in place on SQLite and PostgreSQL, and existing rows keep verifying as scheme 1.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_events", sa.Column("hash_scheme", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.add_column("audit_events", sa.Column("key_id", sa.String(length=16), server_default="", nullable=False))


def downgrade():
    # SQLite drops a column by rebuilding the table, which would drop the append-only triggers: refuse.
    raise NotImplementedError("keyed audit events cannot be turned back into unkeyed ones")
