"""company SSO and attestation signatures

How each attestation was signed: signature_method (password, oidc or sso_header), and for a
re-authentication at the company's OpenID provider the provider's auth_time and a sha256 naming
the ID token (its jti or sid). NULL for attestations made before this revision, which were all
signed with the local password. attestations stays append-only: the columns are added in place
(ALTER TABLE ADD COLUMN), never by copying the table, so its triggers survive on SQLite.

oidc_used_values remembers the state, nonce and jti values that came back from the provider, so
the same answer cannot be used twice.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

SIGNATURE_RULE = (
    "signature_method IS NULL OR signature_method IN ('password', 'sso_header') OR "
    "(signature_method = 'oidc' AND signed_auth_time IS NOT NULL AND signature_token_hash IS NOT NULL)"
)
CONSTRAINT = "ck_attestations_signature_method_known"


def upgrade():
    op.add_column("attestations", sa.Column("signed_auth_time", sa.DateTime(), nullable=True))
    op.add_column("attestations", sa.Column("signature_token_hash", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("attestations", sa.Column("signature_method", sa.String(length=16), nullable=True))
        op.create_check_constraint(CONSTRAINT, "attestations", SIGNATURE_RULE)
    else:  # SQLite adds a CHECK only with its column, and batch mode would drop the table's triggers
        op.execute(f"ALTER TABLE attestations ADD COLUMN signature_method VARCHAR(16) "
                   f"CONSTRAINT {CONSTRAINT} CHECK ({SIGNATURE_RULE})")
    op.create_table(
        "oidc_used_values",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.Column("forget_after", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('state', 'nonce', 'jti')", name=op.f("ck_oidc_used_values_kind_known")),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_oidc_used_values")),
    )
    op.create_index("ix_oidc_used_values_forget_after", "oidc_used_values", ["forget_after"], unique=False)


def downgrade():
    op.drop_index("ix_oidc_used_values_forget_after", table_name="oidc_used_values")
    op.drop_table("oidc_used_values")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(CONSTRAINT, "attestations", type_="check")
    for column in ("signature_method", "signature_token_hash", "signed_auth_time"):
        op.drop_column("attestations", column)  # SQLite ≥ 3.35 drops a column in place
