"""Signed LINE webhook bodies built from the event JSON in LINE's Messaging API reference."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.store.models import Message

SECRET = "0123456789abcdef0123456789abcdef"
# Fresh ids per test (see conftest): on PostgreSQL all tests of a session share one database.
USER = "U4af4980629c0e3a6f8a27a4a6b1a8bd7"
GROUP = "Ca56f94637cc4347f90a25382909b24b9"


def fresh_ids() -> None:
    global USER, GROUP
    USER, GROUP = "U" + uuid.uuid4().hex, "C" + uuid.uuid4().hex


DESTINATION = "Ub9952f8d3b4b2d2d0e1f7c5d7b3c4a1e"


def event_id() -> str:
    return "01" + uuid.uuid4().hex[:24].upper()


def base(
    kind: str,
    *,
    user: str | None = None,
    group: str | None = None,
    mode: str = "active",
    redelivery: bool = False,
    webhook_event_id: str | None = None,
    reply: bool = True,
    age_seconds: float = 0.0,
) -> dict[str, Any]:
    user = user or USER
    source: dict[str, Any] = {"type": "user", "userId": user}
    if group:
        source = {"type": "group", "groupId": group, "userId": user}
    event: dict[str, Any] = {
        "type": kind,
        "mode": mode,
        "timestamp": int((time.time() - age_seconds) * 1000),
        "source": source,
        "webhookEventId": webhook_event_id or event_id(),
        "deliveryContext": {"isRedelivery": redelivery},
    }
    if reply:
        event["replyToken"] = uuid.uuid4().hex
    return event


def text(message: str, **kw: Any) -> dict[str, Any]:
    event = base("message", **kw)
    event["message"] = {"id": "444573844083572737", "type": "text", "quoteToken": "q3Plxr4AgKd", "text": message}
    return event


def postback(data: str, **kw: Any) -> dict[str, Any]:
    event = base("postback", **kw)
    event["postback"] = {"data": data}
    return event


def follow(**kw: Any) -> dict[str, Any]:
    event = base("follow", **kw)
    event["follow"] = {"isUnblocked": False}
    return event


def unfollow(**kw: Any) -> dict[str, Any]:
    return base("unfollow", reply=False, **kw)


MEDIA = {
    "sticker": {
        "id": "1501597916",
        "type": "sticker",
        "quoteToken": "q3Plxr4AgKd",
        "stickerId": "52002738",
        "packageId": "11537",
        "stickerResourceType": "ANIMATION",
        "keywords": ["cony", "sally"],
    },
    "image": {
        "id": "354718705033693859",
        "type": "image",
        "quoteToken": "q3Plxr4AgKd",
        "contentProvider": {"type": "line"},
        "imageSet": {"id": "E005D41A7288F41B6559", "index": 1, "total": 2},
    },
    "location": {
        "id": "325708",
        "type": "location",
        "title": "my location",
        "address": "日本、〒102-8282 東京都千代田区紀尾井町1番3号",
        "latitude": 35.67966,
        "longitude": 139.73669,
    },
}


def media(kind: str, **kw: Any) -> dict[str, Any]:
    event = base("message", **kw)
    event["message"] = MEDIA[kind]
    return event


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"destination": DESTINATION, "events": list(events)}, ensure_ascii=False).encode()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()


def post(client: TestClient, *events: dict[str, Any], signature: str | None = None) -> Any:
    raw = body(*events)
    headers = {"Content-Type": "application/json", "X-Line-Signature": signature or sign(raw)}
    return client.post("/callback", content=raw, headers=headers)


def drain(client: TestClient, timeout: float = 10.0) -> None:
    """Wait until the accepted events are processed and their messages sent (no sleeping)."""
    channel = client.app.state.line  # type: ignore[attr-defined]
    client.portal.call(channel.drain, timeout)  # type: ignore[union-attr]


def count_messages(client: TestClient, **where: Any) -> int:
    """Transcript entries of this test's user and group matching `where`."""
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> int:
        mine = [f"line:{USER}", f"line:{GROUP}"]
        query = select(func.count(Message.id)).where(Message.conversation_id.in_(mine))
        for key, value in where.items():
            query = query.where(getattr(Message, key) == value)
        async with services.sessionmaker() as s:
            return int(await s.scalar(query) or 0)

    return client.portal.call(read)  # type: ignore[union-attr]
