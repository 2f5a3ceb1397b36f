"""Channel-agnostic inbound events and outbound replies.

Channels translate their wire formats into `InboundEvent` and render `Reply` back; nothing in
the dispatcher, router or handlers knows which channel a message came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventKind = Literal["message", "postback", "follow", "unfollow", "unsupported"]


@dataclass(frozen=True, slots=True)
class InboundEvent:
    channel: str  # "web", "line", "shell", ...
    sender_id: str  # channel-specific user or conversation id
    kind: EventKind = "message"
    text: str = ""
    payload: str | None = None  # button / postback payload, e.g. "/affirm" or "/choose{...}"
    received_at: datetime | None = None
    external_id: str | None = None  # channel's event id, for idempotency
    metadata: dict[str, Any] = field(default_factory=dict)
    # The web client's address, for per-address limits on link codes. Personal-ish data: never
    # logged, never stored raw (only as an HMAC, bot/engine/link_limits.py). None on LINE (LINE's servers).
    client_address: str | None = field(default=None, repr=False)

    @property
    def conversation_id(self) -> str:
        return f"{self.channel}:{self.sender_id}"


# InboundEvent.metadata key: a channel that answers with the transcript ids of the turn's replies
# (the web chat's REST answer, matched against WebSocket frames) puts an empty list here, and the
# dispatcher fills it with the reply rows' ids, in order, inside the turn
REPLY_IDS = "reply_ids"


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str  # sent back as the message when pressed
    url: str | None = None  # opens a page instead of sending a payload


@dataclass(frozen=True, slots=True)
class Card:
    """A short structured answer: a procedure summary, checklist or suggestion."""

    title: str
    lines: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    kind: str = "info"  # info | checklist | suggestion | confirmation


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()  # rendered as buttons (web) or quick replies (LINE)
    card: Card | None = None
    custom: dict[str, Any] | None = None
    sender: Literal["bot", "staff"] = "bot"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text, "sender": self.sender}
        if self.buttons:
            data["buttons"] = [_button_dict(b) for b in self.buttons]
        if self.card is not None:
            data["card"] = {
                "title": self.card.title,
                "lines": list(self.card.lines),
                "buttons": [_button_dict(b) for b in self.card.buttons],
                "kind": self.card.kind,
            }
        if self.custom:
            data["custom"] = self.custom
        return data


def _button_dict(button: Button) -> dict[str, str]:
    data = {"title": button.title, "payload": button.payload}
    if button.url:
        data["url"] = button.url
    return data


def reply_from_dict(data: dict[str, Any]) -> Reply:
    """Inverse of `Reply.to_dict`, for replies queued or stored as JSON."""
    card = None
    if data.get("card"):
        c = data["card"]
        card = Card(
            title=c["title"],
            lines=tuple(c.get("lines", ())),
            buttons=tuple(_button_from(b) for b in c.get("buttons", ())),
            kind=c.get("kind", "info"),
        )
    return Reply(
        text=data.get("text", ""),
        buttons=tuple(_button_from(b) for b in data.get("buttons", ())),
        card=card,
        custom=data.get("custom"),
        sender=data.get("sender", "bot"),
    )


def _button_from(data: dict[str, str]) -> Button:
    return Button(title=data["title"], payload=data.get("payload", ""), url=data.get("url"))
