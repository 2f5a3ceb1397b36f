"""Staff broadcasts (一斉のお知らせ): composed by one staff member for a segment of residents,
approved by a second (four-eyes), then sent once to each resident with `outreach` consent.

Revision ID: 0016_broadcasts
Revises: 0009_outreach
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_broadcasts"
down_revision = "0009_outreach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("broadcasts")
