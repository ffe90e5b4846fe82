"""Matching: referrals, matching runs and placement proposals.

Revision ID: 0002_matching
Revises: 0001_foundation
Create Date: 2026-11-23 18:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_matching"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def _tz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("birth_month", sa.Integer(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("home_postcode", sa.String(length=4), nullable=True),
        sa.Column("home_municipality_id", sa.Integer(), sa.ForeignKey("municipalities.id"), nullable=True),
        sa.Column("home_lat", sa.Float(), nullable=False),
        sa.Column("home_lon", sa.Float(), nullable=False),
        sa.Column("origin_region_code", sa.String(length=8), nullable=False),
        sa.Column("care_forms", sa.JSON(), nullable=False),
        sa.Column("required_intensity", sa.String(length=1), nullable=False),
        sa.Column("risk_profile", sa.String(length=1), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.Integer(), nullable=False),
        sa.Column("secure_authorisation", sa.Boolean(), nullable=False),
        sa.Column("max_distance_km", sa.Float(), nullable=True),
        sa.Column("sibling_set", sa.String(length=40), nullable=True),
        sa.Column("together", sa.String(length=10), nullable=False),
        sa.Column("excluded_provider_ids", sa.JSON(), nullable=False),
        sa.Column("excluded_group_ids", sa.JSON(), nullable=False),
        sa.Column("waiting_since", _tz(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("placed_group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=True),
        sa.Column("placed_at", _tz(), nullable=True),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("updated_at", _tz(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_id", "reference", name="uq_referrals_region_reference"),
    )
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.create_index("ix_referrals_region_id", ["region_id"])
        batch_op.create_index("ix_referrals_status", ["status"])
        batch_op.create_index("ix_referrals_sibling_set", ["sibling_set"])
        batch_op.create_index("ix_referrals_placed_group_id", ["placed_group_id"])

    op.create_table(
        "matching_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("solver_status", sa.String(length=24), nullable=True),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("finished_at", _tz(), nullable=True),
        sa.Column("time_limit_s", sa.Float(), nullable=False),
        sa.Column("referral_ids", sa.JSON(), nullable=False),
        sa.Column("input_snapshot", sa.JSON(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("optimal", sa.Boolean(), nullable=False),
        sa.Column("bound", sa.Float(), nullable=True),
        sa.Column("solve_seconds", sa.Float(), nullable=True),
        sa.Column("assignments", sa.JSON(), nullable=False),
        sa.Column("unplaced", sa.JSON(), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("proposals_sent_at", _tz(), nullable=True),
        sa.Column("proposals_report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("matching_runs") as batch_op:
        batch_op.create_index("ix_matching_runs_region_id", ["region_id"])

    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), sa.ForeignKey("referrals.id"), nullable=False),
        sa.Column("group_id", sa.Integer(), sa.ForeignKey("groups.id"), nullable=False),
        sa.Column("provider_id", sa.Integer(), sa.ForeignKey("providers.id"), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("matching_runs.id"), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", _tz(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("expires_at", _tz(), nullable=False),
        sa.Column("answered_at", _tz(), nullable=True),
        sa.Column("answered_by", sa.String(length=120), nullable=True),
        sa.Column("decline_reason", sa.String(length=40), nullable=True),
        sa.Column("decline_text", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("proposals") as batch_op:
        batch_op.create_index("ix_proposals_referral_id", ["referral_id"])
        batch_op.create_index("ix_proposals_group_id", ["group_id"])
        batch_op.create_index("ix_proposals_provider_id", ["provider_id"])
        batch_op.create_index("ix_proposals_region_id", ["region_id"])
        batch_op.create_index("ix_proposals_run_id", ["run_id"])
        batch_op.create_index("ix_proposals_status", ["status"])
        batch_op.create_index("ix_proposals_expires_at", ["expires_at"])


def downgrade() -> None:
    op.drop_table("proposals")
    op.drop_table("matching_runs")
    op.drop_table("referrals")
