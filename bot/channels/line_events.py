"""LINE webhook events: the signed body's shape, the SDK's event for each, and the channel-agnostic
InboundEvent the dispatcher takes (identity: a one-to-one chat is the user's `userId`, a group or a
multi-person chat its `groupId` / `roomId`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from bot.channels.line_ack import well_formed  # noqa: F401 - its home before; still importable here
from bot.channels.line_media import LOCATION_TEXT, PHOTO_TEXT, location_payload
from bot.engine.events import InboundEvent

log = logging.getLogger("bot.channels.line")


def parse_event(raw: Any) -> Any | None:
    """The SDK's event for one signed webhook event, or None for one it cannot read (a type LINE
    added since, a field in a new form): skipped with a warning, so it does not refuse the others."""
    try:
        return Event.from_dict(raw)
    except Exception:  # the generated models raise ValueError, TypeError, AttributeError …
        kind = raw.get("type") if isinstance(raw, dict) else None
        log.warning("LINE event skipped: not readable", extra={"event_type": str(kind)[:40]})
        return None


def source_id(event: Any) -> tuple[str, bool] | None:
    source = getattr(event, "source", None)
    if source is None:
        return None
    kind = getattr(source, "type", "")
    if kind == "group":
        return source.group_id, False
    if kind == "room":
        return source.room_id, False
    user = getattr(source, "user_id", None)
    return (user, True) if user else None


def event_time(event: Any) -> datetime:
    now = datetime.now(UTC)
    stamp = getattr(event, "timestamp", None)
    if not stamp:
        return now
    return min(now, datetime.fromtimestamp(stamp / 1000, UTC))  # a clock ahead of ours: use ours


def to_inbound(event: Any, max_chars: int = 5000) -> InboundEvent | None:
    """The channel-agnostic event, or None for events the bot does not act on (join, unsend, ...)."""
    where = source_id(event)
    if where is None:
        return None
    common: dict[str, Any] = {
        "channel": "line",
        "sender_id": where[0],
        "external_id": getattr(event, "webhook_event_id", None),
        "received_at": event_time(event),
        "metadata": {"source": event.source.type},
    }
    if isinstance(event, MessageEvent):
        if isinstance(event.message, TextMessageContent):
            return InboundEvent(kind="message", text=event.message.text[:max_chars], **common)
        if isinstance(event.message, ImageMessageContent):  # 通報の写真: fetched in `process`
            common["metadata"]["message_id"] = event.message.id
            return InboundEvent(kind="message", text=PHOTO_TEXT, **common)
        if isinstance(event.message, LocationMessageContent):  # 通報の場所
            return InboundEvent(kind="message", text=LOCATION_TEXT, payload=location_payload(event.message), **common)
        common["metadata"]["message_type"] = getattr(event.message, "type", "unknown")
        return InboundEvent(kind="unsupported", **common)
    if isinstance(event, PostbackEvent):
        return InboundEvent(kind="postback", payload=event.postback.data, **common)
    if isinstance(event, FollowEvent):
        return InboundEvent(kind="follow", **common)
    if isinstance(event, UnfollowEvent):
        return InboundEvent(kind="unfollow", **common)
    return None


def is_standby(event: Any) -> bool:
    mode = getattr(event, "mode", None)
    return str(getattr(mode, "value", mode)) == "standby"
