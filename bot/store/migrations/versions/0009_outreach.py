"""Outreach (出前型のお知らせ): the end of a care certification on the resident, the notices sent
(one row per notice, its key unique: a notice is sent once across runs and workers) and the
residents' opt-outs per topic.

Revision ID: 0009_outreach
Revises: 0003_residents
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_outreach"
down_revision = "0003_residents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as batch:
        batch.add_column(sa.Column("care_level_valid_until", sa.Date(), nullable=True))
    op.create_table(
        "outreach_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("dedupe_key", sa.String(240), nullable=False),
        sa.Column("rule_id", sa.String(60), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(220), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_outreach_deliveries_dedupe_key"),
    )
    op.create_index("ix_outreach_deliveries_subject_created", "outreach_deliveries", ["subject", "created_at"])
    op.create_table(
        "notice_optouts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(220), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subject", "topic", name="uq_notice_optouts_subject"),
    )


def downgrade() -> None:
    op.drop_table("notice_optouts")
    op.drop_index("ix_outreach_deliveries_subject_created", table_name="outreach_deliveries")
    op.drop_table("outreach_deliveries")
    with op.batch_alter_table("residents") as batch:
        batch.drop_column("care_level_valid_until")
