"""The staff console's live feed: new transcript rows of conversations handed to staff, by cursor.

A frame says that a conversation has new messages, up to which id, and its status now:
`{"type": "message", "id": …, "conversation_id": "…", "status": "…"}` (one frame per conversation
per read, so one turn is one frame; `id` is the cursor to send back as `after`). It carries no text: the console reads the conversation
through the REST API, which checks who may read it. "Handed to staff" means the conversation has
a handoff row, so the message that asked for staff, a resident's withdrawal and a release (back
to the bot) are in the feed too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, select

from bot.channels.live import BATCH
from bot.store.models import Conversation, Handoff, Message

HANDED_TO_STAFF = exists().where(Handoff.conversation_id == Message.conversation_id)


async def staff_frames(sessionmaker: Any, after: int) -> list[dict[str, Any]]:
    async with sessionmaker() as s:
        rows = await s.execute(
            select(Message.id, Message.conversation_id, Conversation.status)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Message.id > after, HANDED_TO_STAFF)
            .order_by(Message.id)
            .limit(BATCH)
        )
        latest: dict[str, dict[str, Any]] = {}
        for id_, conversation_id, status in rows:
            latest.pop(conversation_id, None)  # re-inserted last: frames stay in id order
            latest[conversation_id] = {
                "type": "message",
                "id": id_,
                "conversation_id": conversation_id,
                "status": status,
            }
        return list(latest.values())
