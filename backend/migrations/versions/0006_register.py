"""The region's contract register: provider contact and active period, the providers' own codes
of locations and groups, family-home levels, dated contract terms, the tariff table, the
funded intensity's valid-from date, and finalised post-calculations.

Existing rows get codes from their ids ("L12", "G34"), no start date (unknown: counted as
always active, as before) and one approved contract term from 2000-01-01 with the group's
current places, tariff and funding, so an upgraded database computes what it did before until
the region loads its register.

Revision ID: 0006_register
Revises: 0005_one_head
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_register"
down_revision = "0005_one_head"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("providers") as batch_op:
        batch_op.add_column(sa.Column("contact_email", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("active_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("active_to", sa.Date(), nullable=True))

    with op.batch_alter_table("locations") as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=40), nullable=True))
    op.execute("UPDATE locations SET code = 'L' || CAST(id AS VARCHAR(12))")
    with op.batch_alter_table("locations") as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint("uq_locations_provider_code", ["provider_id", "code"])

    with op.batch_alter_table("groups") as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("level", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("active_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("active_to", sa.Date(), nullable=True))
    op.execute("UPDATE groups SET code = 'G' || CAST(id AS VARCHAR(12))")
    with op.batch_alter_table("groups") as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint("uq_groups_provider_code", ["provider_id", "code"])

    with op.batch_alter_table("intensity_reassessments") as batch_op:
        batch_op.add_column(sa.Column("valid_from", sa.Date(), nullable=True))

    op.create_table(
        "contract_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("contracted_places", sa.Integer(), nullable=False),
        sa.Column("day_tariff", sa.Float(), nullable=True),
        sa.Column("availability_funded", sa.Boolean(), nullable=False),
        sa.Column("availability_share", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("contracted_places >= 1", name="ck_contract_terms_places"),
        sa.CheckConstraint(
            "availability_share IS NULL OR (availability_share >= 0 AND availability_share <= 1)",
            name="ck_contract_terms_share",
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_contract_terms_period"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contract_terms_region_id", "contract_terms", ["region_id"])
    op.create_index("ix_contract_terms_group_id", "contract_terms", ["group_id"])
    op.create_index("ix_contract_terms_status", "contract_terms", ["status"])
    op.execute(
        "INSERT INTO contract_terms (region_id, group_id, valid_from, contracted_places, day_tariff, "
        "availability_funded, status, created_at, created_by) "
        "SELECT region_id, id, DATE '2000-01-01', capacity, day_tariff, availability_funded, 'approved', "
        "CURRENT_TIMESTAMP, 'migratie 0006' FROM groups"
        if op.get_bind().dialect.name == "postgresql"
        else "INSERT INTO contract_terms (region_id, group_id, valid_from, contracted_places, day_tariff, "
        "availability_funded, status, created_at, created_by) "
        "SELECT region_id, id, '2000-01-01', capacity, day_tariff, availability_funded, 'approved', "
        "CURRENT_TIMESTAMP, 'migratie 0006' FROM groups"
    )

    op.create_table(
        "tariffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("care_form", sa.String(length=20), nullable=False),
        sa.Column("intensity", sa.String(length=10), nullable=False),
        sa.Column("day_tariff", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("day_tariff >= 0", name="ck_tariffs_day_tariff"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_tariffs_period"),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tariffs_region_id", "tariffs", ["region_id"])

    op.create_table(
        "post_calculations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalised_by", sa.String(length=120), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["region_id"], ["regions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("region_id", "period_start", "period_end", name="uq_post_calculations_period"),
    )
    op.create_index("ix_post_calculations_region_id", "post_calculations", ["region_id"])


def downgrade() -> None:
    op.drop_table("post_calculations")
    op.drop_table("tariffs")
    op.drop_table("contract_terms")
    with op.batch_alter_table("intensity_reassessments") as batch_op:
        batch_op.drop_column("valid_from")
    with op.batch_alter_table("groups") as batch_op:
        batch_op.drop_constraint("uq_groups_provider_code", type_="unique")
        for column in ("active_to", "active_from", "level", "code"):
            batch_op.drop_column(column)
    with op.batch_alter_table("locations") as batch_op:
        batch_op.drop_constraint("uq_locations_provider_code", type_="unique")
        batch_op.drop_column("code")
    with op.batch_alter_table("providers") as batch_op:
        for column in ("active_to", "active_from", "contact_email"):
            batch_op.drop_column(column)
