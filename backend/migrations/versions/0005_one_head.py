"""Migrations become one line: merges the domain branches (matching, crisis, occupancy), and adds
the foreign key holds.referral_id -> referrals.id that the crisis branch could not have.

Revision ID: 0005_one_head
Revises: 0002_matching, 0003_crisis, 0004_occupancy
"""
from alembic import op

revision = "0005_one_head"
down_revision = ("0002_matching", "0003_crisis", "0004_occupancy")
branch_labels = None
depends_on = None

FK = "fk_holds_referral_id_referrals"
ORPHAN = "referral_id IS NOT NULL AND referral_id NOT IN (SELECT id FROM referrals)"


def upgrade() -> None:
    # Nothing checked the referral of a hold so far. A hold naming a referral that does not exist
    # keeps the number as its crisis reference (ck_holds_subject needs one of the two).
    op.execute("UPDATE holds SET crisis_reference = 'verwijzing-' || CAST(referral_id AS "
               f"VARCHAR(12)) WHERE crisis_reference IS NULL AND {ORPHAN}")
    op.execute(f"UPDATE holds SET referral_id = NULL WHERE {ORPHAN}")
    with op.batch_alter_table("holds") as batch_op:
        batch_op.create_foreign_key(FK, "referrals", ["referral_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")
