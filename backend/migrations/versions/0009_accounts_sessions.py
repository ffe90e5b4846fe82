"""Accounts and sessions: provider administrators, API-key expiry and last use, login sessions
with rotating refresh tokens, password-reset codes and one-time live-feed tickets.

Revision ID: 0009_accounts_sessions
Revises: 0008_audit_trail
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_accounts_sessions"
down_revision = "0008_audit_trail"
branch_labels = None
depends_on = None


def _at(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("manages_provider", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(_at("revoked_at", nullable=True))
        batch_op.add_column(_at("expires_at", nullable=True))
        batch_op.add_column(_at("last_used_at", nullable=True))

    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("ended_at", nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_auth_sessions_user_id", "auth_sessions", ["user_id"])
    op.create_index("ix_auth_sessions_ended_at", "auth_sessions", ["ended_at"])

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("used_at", nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["auth_sessions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    op.create_index("ix_refresh_tokens_token_hash", "refresh_tokens", ["token_hash"], unique=True)

    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        _at("created_at", nullable=False),
        _at("expires_at", nullable=False),
        _at("used_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_index("ix_password_resets_code_hash", "password_resets", ["code_hash"], unique=True)

    op.create_table(
        "live_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        _at("expires_at", nullable=False),
        _at("used_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_live_tickets_ticket_hash", "live_tickets", ["ticket_hash"], unique=True)
    op.create_index("ix_live_tickets_expires_at", "live_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_table("live_tickets")
    op.drop_table("password_resets")
    op.drop_table("refresh_tokens")
    op.drop_table("auth_sessions")
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("revoked_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("manages_provider")
