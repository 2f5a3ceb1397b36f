"""Handing a conversation to staff and back: an explicit transition table.

A bot and a person are never both in charge: while the status is `human` the bot stays silent,
and while it is `pending_handoff` it only says that staff have been asked.
"""

from __future__ import annotations

from typing import Literal

from bot.state import ConversationStatus

Transition = Literal["request", "take", "withdraw", "release"]

TRANSITIONS: dict[tuple[ConversationStatus, Transition], ConversationStatus] = {
    ("bot", "request"): "pending_handoff",
    ("pending_handoff", "request"): "pending_handoff",
    ("pending_handoff", "take"): "human",
    ("pending_handoff", "withdraw"): "bot",
    ("pending_handoff", "release"): "bot",
    ("human", "release"): "bot",
    ("human", "request"): "human",
}


class InvalidTransition(ValueError):
    pass


def next_status(current: ConversationStatus, transition: Transition) -> ConversationStatus:
    try:
        return TRANSITIONS[(current, transition)]
    except KeyError:
        raise InvalidTransition(f"cannot {transition} a conversation that is {current}") from None
