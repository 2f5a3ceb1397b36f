"""Handing a conversation to staff and back: an explicit transition table.

A bot and a person are never both in charge: while the status is `human` the bot stays silent,
and while it is `pending_handoff` it only says that staff have been asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.state import ConversationState, ConversationStatus
from bot.store.models import Handoff

Transition = Literal["request", "take", "withdraw", "release", "transfer"]

TRANSITIONS: dict[tuple[ConversationStatus, Transition], ConversationStatus] = {
    ("bot", "request"): "pending_handoff",
    ("pending_handoff", "request"): "pending_handoff",
    ("pending_handoff", "take"): "human",
    ("pending_handoff", "withdraw"): "bot",
    ("pending_handoff", "release"): "bot",
    ("human", "release"): "bot",
    ("human", "request"): "human",
    # to another department: back in a queue, that department's
    ("pending_handoff", "transfer"): "pending_handoff",
    ("human", "transfer"): "pending_handoff",
}


class InvalidTransition(ValueError):
    pass


def next_status(current: ConversationStatus, transition: Transition) -> ConversationStatus:
    try:
        return TRANSITIONS[(current, transition)]
    except KeyError:
        raise InvalidTransition(f"cannot {transition} a conversation that is {current}") from None


async def apply_transition(
    db: AsyncSession,
    *,
    conversation_id: str,
    state: ConversationState,
    transition: Transition,
    reason: str | None = None,
    staff_id: str | None = None,
    department: str | None = None,
    outcome: str | None = None,
) -> None:
    """Change the status and the handoff rows together, in the caller's transaction: the one way
    a conversation moves between the bot and a person (the dispatcher and the staff API use it)."""
    current = state.status
    state.status = next_status(current, transition)
    now = datetime.now(UTC)
    open_rows = Handoff.conversation_id == conversation_id
    if transition == "request":
        if current == "bot":
            db.add(
                Handoff(
                    conversation_id=conversation_id,
                    reason=reason or "requested",
                    status="pending",
                    requested_at=now,
                    department=department,
                )
            )
    elif transition == "take":
        await db.execute(
            update(Handoff)
            .where(open_rows, Handoff.status == "pending")
            .values(status="active", staff_id=staff_id, taken_at=now)
        )
    elif transition == "transfer":
        await db.execute(
            update(Handoff)
            .where(open_rows, Handoff.status.in_(("pending", "active")))
            .values(status="pending", staff_id=None, taken_at=None, department=department)
        )
    else:  # withdraw / release close what is open; a taken one keeps who took it
        values: dict[str, object] = {"status": "closed", "closed_at": now}
        if outcome is not None:
            values["outcome"] = outcome
        if staff_id is not None:
            values["staff_id"] = func.coalesce(Handoff.staff_id, staff_id)
        await db.execute(update(Handoff).where(open_rows, Handoff.status.in_(("pending", "active"))).values(**values))
