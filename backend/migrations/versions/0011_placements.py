"""Placements: the lifecycle of a placement (expected arrival, arrival, no-show, discharge,
transfer), the referral's discharge, and the referral and risk profile of an occupancy stay
(one open stay per referral; the profile-C limit counts the open stays).

Revision ID: 0011_placements
Revises: 0009_accounts_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_placements"
down_revision = "0010_security_gaps"
branch_labels = None
depends_on = None

STAY_REFERRAL_FK = "fk_occupancy_stays_referral_id_referrals"
OPEN_STAY = "discharged_at IS NULL AND referral_id IS NOT NULL"


def _at(name: str, *, nullable: bool) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=True),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("transferred_from", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("expected_arrival", sa.Date(), nullable=False),
        sa.Column("stay_reference", sa.String(length=64), nullable=False),
        _at("arrived_at", nullable=True),
        _at("discharged_at", nullable=True),
        sa.Column("destination", sa.String(length=20), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        _at("created_at", nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        _at("updated_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["provider_id"], ["providers.id"]),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"]),
        sa.ForeignKeyConstraint(["transferred_from"], ["placements.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("placements") as batch_op:
        for column in ("referral_id", "group_id", "provider_id", "region_id", "proposal_id", "status"):
            batch_op.create_index(f"ix_placements_{column}", [column], unique=False)

    with op.batch_alter_table("referrals") as batch_op:
        batch_op.add_column(_at("discharged_at", nullable=True))
        batch_op.add_column(sa.Column("discharge_destination", sa.String(length=20), nullable=True))

    with op.batch_alter_table("occupancy_stays") as batch_op:
        batch_op.add_column(sa.Column("referral_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("risk_profile", sa.String(length=1), nullable=True))
        batch_op.create_foreign_key(STAY_REFERRAL_FK, "referrals", ["referral_id"], ["id"])
    # Stays that accepted proposals and crisis holds admitted before this revision were named
    # "verwijzing-<id>": they get their referral and its risk profile, so that the profile-C
    # count (now from the stays) keeps counting the youths placed through plekwijzer. Only the
    # newest open stay per referral is linked (one open stay per youth).
    op.execute(
        "UPDATE occupancy_stays SET referral_id = (SELECT r.id FROM referrals r "
        "WHERE 'verwijzing-' || CAST(r.id AS VARCHAR(12)) = occupancy_stays.stay_reference "
        "AND r.status = 'placed' AND r.placed_group_id = occupancy_stays.group_id) "
        "WHERE discharged_at IS NULL AND stay_reference LIKE 'verwijzing-%' AND id IN "
        "(SELECT max(s.id) FROM occupancy_stays s WHERE s.discharged_at IS NULL GROUP BY s.group_id, s.stay_reference)"
    )
    op.execute(
        "UPDATE occupancy_stays SET risk_profile = (SELECT r.risk_profile FROM referrals r "
        "WHERE r.id = occupancy_stays.referral_id) WHERE referral_id IS NOT NULL"
    )
    op.create_index(
        "uq_occupancy_stays_open_referral",
        "occupancy_stays",
        ["referral_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_STAY),
        postgresql_where=sa.text(OPEN_STAY),
    )


def downgrade() -> None:
    op.drop_index("uq_occupancy_stays_open_referral", table_name="occupancy_stays")
    with op.batch_alter_table("occupancy_stays") as batch_op:
        batch_op.drop_constraint(STAY_REFERRAL_FK, type_="foreignkey")
        batch_op.drop_column("risk_profile")
        batch_op.drop_column("referral_id")
    with op.batch_alter_table("referrals") as batch_op:
        batch_op.drop_column("discharge_destination")
        batch_op.drop_column("discharged_at")
    with op.batch_alter_table("placements") as batch_op:
        for column in ("status", "proposal_id", "region_id", "provider_id", "group_id", "referral_id"):
            batch_op.drop_index(f"ix_placements_{column}")
    op.drop_table("placements")
