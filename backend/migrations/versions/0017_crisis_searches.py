"""Crisis searches counted for the steering indicators (backend/crisis/searchlog.py).

Revision ID: 0017_crisis_searches
Revises: 0016_indicators_fast
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_crisis_searches"
down_revision = "0016_indicators_fast"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crisis_searches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("regions.id"), nullable=False),
        sa.Column("searched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("places_found", sa.Integer(), nullable=False),
        sa.Column("own_region_found", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_crisis_searches_region_searched_at", "crisis_searches", ["region_id", "searched_at"])


def downgrade() -> None:
    op.drop_index("ix_crisis_searches_region_searched_at", table_name="crisis_searches")
    op.drop_table("crisis_searches")
