"""Occupancy feed (events, stays, census) and intensity re-assessments.

Revision ID: 0004_occupancy
Revises: 0001_foundation
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_occupancy"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "occupancy_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("origin_region_code", sa.String(length=4), nullable=True),
        sa.Column("stay_reference", sa.String(length=64), nullable=True),
        sa.Column("cancels_event_id", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider_id", "event_id", name="uq_occupancy_events_provider_event"),
    )
    op.create_index("ix_occupancy_events_provider_id", "occupancy_events", ["provider_id"])
    op.create_index("ix_occupancy_events_group_id", "occupancy_events", ["group_id"])

    op.create_table(
        "occupancy_stays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("stay_reference", sa.String(length=64), nullable=False),
        sa.Column("origin_region_code", sa.String(length=4), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admit_day", sa.Date(), nullable=False),
        sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharge_day", sa.Date(), nullable=True),
        sa.Column("admission_event", sa.Integer(), nullable=False),
        sa.Column("discharge_event", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["admission_event"], ["occupancy_events.id"]),
        sa.ForeignKeyConstraint(["discharge_event"], ["occupancy_events.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_occupancy_stays_group_ref", "occupancy_stays", ["group_id", "stay_reference"])
    op.create_index("ix_occupancy_stays_group_days", "occupancy_stays", ["group_id", "admit_day", "discharge_day"])

    op.create_table(
        "occupancy_census",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("present", sa.Integer(), nullable=False),
        sa.Column("by_region", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_occupancy_census_group_day", "occupancy_census", ["group_id", "day"])

    op.create_table(
        "intensity_reassessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("capacity_before", sa.Integer(), nullable=False),
        sa.Column("capacity_after", sa.Integer(), nullable=False),
        sa.Column("roster_hours_before", sa.Float(), nullable=False),
        sa.Column("roster_hours_after", sa.Float(), nullable=False),
        sa.Column("hours_per_child_per_day", sa.Float(), nullable=False),
        sa.Column("intensity_before", sa.String(length=1), nullable=False),
        sa.Column("intensity_after", sa.String(length=1), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_intensity_reassessments_group_id", "intensity_reassessments", ["group_id"])
    op.create_index("ix_intensity_reassessments_status", "intensity_reassessments", ["status"])


def downgrade() -> None:
    op.drop_table("intensity_reassessments")
    op.drop_table("occupancy_census")
    op.drop_table("occupancy_stays")
    op.drop_table("occupancy_events")
