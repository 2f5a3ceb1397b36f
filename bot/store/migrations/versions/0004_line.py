"""LINE channel: the persistent outbox, and webhook events stored at receipt until processed.

Processed-event idempotency reuses the transcript's unique (channel, external_id): the LINE
`webhookEventId` is stored as the inbound message's external_id.

Revision ID: 0004_line
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_line"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "line_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("recipient_id", sa.String(64), nullable=False),
        sa.Column("reply_token", sa.String(255), nullable=True),
        sa.Column("messages", sa.JSON, nullable=False),
        sa.Column("retry_key", sa.String(36), nullable=False),
        sa.Column("event_at", TZ, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
    )
    op.create_index("ix_line_outbox_status_id", "line_outbox", ["status", "id"])
    op.create_table(
        "line_pending_events",
        sa.Column("webhook_event_id", sa.String(64), primary_key=True),
        sa.Column("event", sa.JSON, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("line_pending_events")
    op.drop_index("ix_line_outbox_status_id", table_name="line_outbox")
    op.drop_table("line_outbox")
