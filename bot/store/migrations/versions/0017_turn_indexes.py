"""What a turn reads, indexed so that its cost does not grow with history (issue 12): the last
messages of one conversation (a pressed button's title, the live cursor's catch-up) by
(conversation_id, id), instead of every message of the conversation sorted.

Revision ID: 0017_turn_indexes
Revises: 0007_conversation_state
"""

from alembic import op

revision = "0017_turn_indexes"
down_revision = "0007_conversation_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_conversation_id_id", "messages", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_messages_conversation_id_id", table_name="messages")
