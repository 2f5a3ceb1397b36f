"""A stored LINE event on its way to processing (`Job`), its order key, and where its answer goes
(`Target`): plain data, without the LINE SDK (the acknowledging process builds jobs; the SDK's
models are built by the processor)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def lane_key(raw: dict[str, Any]) -> str:
    """The conversation an event belongs to (groupId / roomId / userId): its order key."""
    source = raw.get("source")
    if isinstance(source, dict):
        for name in ("groupId", "roomId", "userId"):
            value = source.get(name)
            if isinstance(value, str) and value:
                return value
    return ""


@dataclass
class Job:
    raw: dict[str, Any]  # the event as received; the SDK's model is built by the worker
    key: str = ""  # webhookEventId: the pending-event row until the event is processed
    sender: str = field(default="", init=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = str(self.raw.get("webhookEventId") or f"noid-{id(self)}")
        self.sender = lane_key(self.raw)


@dataclass
class Target:
    """Where the answer to an event goes."""

    recipient_id: str
    reply_token: str | None
    event_at: datetime
    one_to_one: bool
    extra: dict[str, Any] = field(default_factory=dict)
