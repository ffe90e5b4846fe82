"""Notifications: the outbox, webhook endpoints, provider contacts, people's preferences and
used one-click links (backend/notifications).

Revision ID: 0014_notify
Revises: 0013_workday
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_notify"
down_revision = "0013_workday"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False, index=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("secret", sa.String(400), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _at("created_at", False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("trigger", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True, index=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("endpoint_id", sa.Integer(), sa.ForeignKey("webhook_endpoints.id"), nullable=True, index=True),
        sa.Column("provider_id", sa.Integer(), nullable=True, index=True),
        sa.Column("region_id", sa.Integer(), nullable=True, index=True),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _at("created_at", False),
        _at("due_at", False),
        _at("claimed_until"),
        _at("delivered_at"),
        _at("read_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "due_at"])
    op.create_table(
        "provider_contacts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False, index=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("crisis", sa.Boolean(), nullable=False),
        sa.Column("proposals", sa.Boolean(), nullable=False),
        _at("created_at", False),
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.String(5), nullable=True),
        sa.Column("quiet_end", sa.String(5), nullable=True),
        sa.Column("digest", sa.Boolean(), nullable=False),
        _at("updated_at", False),
    )
    op.create_table(
        "used_links",
        sa.Column("nonce", sa.String(40), primary_key=True),
        _at("used_at", False),
    )


def downgrade() -> None:
    op.drop_table("used_links")
    op.drop_table("notification_preferences")
    op.drop_table("provider_contacts")
    op.drop_index("ix_notifications_due", table_name="notifications")
    op.drop_table("notifications")
    op.drop_table("webhook_endpoints")
