"""The conversation's state lives in SQL, beside the conversation row: saved in the turn's own
transaction, so a turn commits whole (transcript, records, outbox rows and state) or not at all,
and a cache that comes back empty loses nothing.

Revision ID: 0007_conversation_state
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_conversation_state"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("state", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("state_saved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("state_saved_at")
        batch.drop_column("state")
