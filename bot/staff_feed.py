"""The staff console's live feed: new transcript rows of conversations handed to staff, by cursor.

A frame says which conversation has which new message and the conversation's status now:
`{"type": "message", "id": …, "conversation_id": "…", "status": "…", "direction": "in" | "out",
"author": "resident" | "bot" | "staff"}`. It carries no text: the console reads the conversation
through the REST API, which checks who may read it. "Handed to staff" means the conversation has
a handoff row, so the message that asked for staff, a resident's withdrawal and a release (back
to the bot) are in the feed too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from bot.channels.live import BATCH
from bot.models import Conversation, Handoff, Message

HANDED_TO_STAFF = exists().where(Handoff.conversation_id == Message.conversation_id)


async def staff_frames(sessionmaker: Any, after: int) -> list[dict[str, Any]]:
    async with sessionmaker() as s:
        rows = await s.execute(
            select(Message.id, Message.conversation_id, Message.direction, Message.author, Conversation.status)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id > after, HANDED_TO_STAFF)
            .order_by(Message.id)
            .limit(BATCH)
        )
        return [
            {
                "type": "message",
                "id": id_,
                "conversation_id": conversation_id,
                "status": status,
                "direction": direction,
                "author": author,
            }
            for id_, conversation_id, direction, author, status in rows
        ]
