"""Crisis: holds on crisis places, and a (care_form, lat, lon) index for the crisis search.

Revision ID: 0003_crisis
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_crisis"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("crisis_reference", sa.String(length=40), nullable=True),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("gender", sa.String(length=10), nullable=True),
        sa.Column("origin_region_code", sa.String(length=8), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.Column("end_reason_code", sa.String(length=20), nullable=True),
        sa.Column("end_reason", sa.String(length=300), nullable=True),
        sa.CheckConstraint("status IN ('active', 'confirmed', 'released', 'expired', 'rejected')",
                           name="ck_holds_status"),
        sa.CheckConstraint("crisis_reference IS NOT NULL OR referral_id IS NOT NULL",
                           name="ck_holds_subject"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_group_id", ["group_id"], unique=False)
        batch_op.create_index("ix_holds_provider_id", ["provider_id"], unique=False)
        batch_op.create_index("ix_holds_region_id", ["region_id"], unique=False)
        batch_op.create_index("ix_holds_referral_id", ["referral_id"], unique=False)
        batch_op.create_index("ix_holds_status_expires_at", ["status", "expires_at"], unique=False)
    # The crisis search filters on care form and a bounding box of lat/lon.
    op.create_index("ix_groups_care_form_lat_lon", "groups", ["care_form", "lat", "lon"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_groups_care_form_lat_lon", table_name="groups")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_status_expires_at")
        batch_op.drop_index("ix_holds_referral_id")
        batch_op.drop_index("ix_holds_region_id")
        batch_op.drop_index("ix_holds_provider_id")
        batch_op.drop_index("ix_holds_group_id")
    op.drop_table("holds")
