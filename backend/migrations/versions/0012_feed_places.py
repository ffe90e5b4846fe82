"""Free places that follow the occupancy feed: per group the provider's choice
(``places_from_feed``) and the youths present according to the feed when the group last
followed it (``feed_present``), from which its free places are derived.

Revision ID: 0012_feed_places
Revises: 0009_accounts_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_feed_places"
down_revision = "0011_placements"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups") as batch_op:
        batch_op.add_column(sa.Column("places_from_feed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("feed_present", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("groups") as batch_op:
        batch_op.drop_column("feed_present")
        batch_op.drop_column("places_from_feed")
