"""Security gaps of issue 13: the region of each audit row, and room for encrypted TOTP secrets.

``audit_log.region_id`` is the region a row concerns, so a region administrator reads only its
own region's rows. Existing rows keep NULL: filling them in would be an UPDATE, which the
append-only trigger refuses, and would break their seals (a region, once set, is part of a
row's hash; see ``backend/audit/chain.canonical``). They stay visible to a service-wide
administrator only.

``users.mfa_secret`` grows to hold the encrypted secret (a Fernet token of a 32-character
base32 secret is 140 characters). Plaintext secrets from before are read as they are and
encrypted at that person's next login (``backend/users/mfa.py``): a migration cannot, since
the key is a setting of the running service, not of the migration.

Revision ID: 0010_security_gaps
Revises: 0009_accounts_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_security_gaps"
down_revision = "0009_accounts_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.add_column(sa.Column("region_id", sa.Integer(), nullable=True))
    op.create_index("ix_audit_log_region_id", "audit_log", ["region_id"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column(
            "mfa_secret", existing_type=sa.String(length=64), type_=sa.String(length=400), existing_nullable=True
        )
    with op.batch_alter_table("mfa_challenges") as batch_op:
        batch_op.alter_column(
            "pending_secret", existing_type=sa.String(length=64), type_=sa.String(length=400), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("mfa_challenges") as batch_op:
        batch_op.alter_column(
            "pending_secret", existing_type=sa.String(length=400), type_=sa.String(length=64), existing_nullable=True
        )
    with op.batch_alter_table("users") as batch_op:
        batch_op.alter_column(
            "mfa_secret", existing_type=sa.String(length=400), type_=sa.String(length=64), existing_nullable=True
        )
    op.drop_index("ix_audit_log_region_id", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("region_id")
