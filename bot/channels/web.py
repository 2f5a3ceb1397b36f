"""Web chat channel: Rasa's REST channel (`POST /webhooks/rest/webhook`) and a WebSocket
(`/webhooks/rest/ws`) that sends the conversation's transcript by cursor (bot/channels/live.py):
catch-up after the client's last id, then new messages (staff replies, other tabs) as they come.

Input is checked before anything is stored: the body must be UTF-8 JSON, an object with a
non-empty `sender` and a `message` of at most MAX_MESSAGE_CHARS characters.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from functools import partial
from typing import Any, NamedTuple

import orjson
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy import Integer, bindparam, select

from bot.channels import live
from bot.engine.dispatcher import Dispatcher
from bot.engine.events import REPLY_IDS, InboundEvent, Reply, reply_from_dict
from bot.engine.jsonbody import JSONRejected, loads_strict
from bot.engine.services import Services
from bot.http.deps import ServicesDep
from bot.http.schemas import BotMessage, SessionAnswer, StatusAnswer, WebhookRequest, errors, json_body, validate
from bot.store import raw
from bot.store.models import Message

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class UTF8JSONResponse(JSONResponse):
    """JSON with Japanese left readable (`curl` shows 住民票, not \\u4f4f...)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)  # UTF-8, compact, non-ASCII left as it is


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def render(replies: list[Reply], recipient_id: str) -> list[dict[str, Any]]:
    """Replies in Rasa REST form; cards and other extras travel in `custom`."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        msg: dict[str, Any] = {"recipient_id": recipient_id, "text": reply.text}
        data = reply.to_dict()
        if "buttons" in data:
            msg["buttons"] = data["buttons"]
        custom = dict(reply.custom or {})
        if "card" in data:
            custom["card"] = data["card"]
        if reply.sender != "bot":
            custom["sender"] = reply.sender
        if custom:
            msg["custom"] = custom
        out.append(msg)
    return out


async def read_json_object(request: Request, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    body = await request.body()
    if len(body) > max_bytes:
        raise BadRequest(413, f"request body is larger than {max_bytes} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(400, "request body is not valid UTF-8") from None
    try:
        data = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(400, f"request body is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except JSONRejected as exc:
        raise BadRequest(400, f"request body is not accepted: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest(400, "request body must be a JSON object")
    return data


def parse_message(data: dict[str, Any], max_chars: int) -> tuple[str, str]:
    sender = data.get("sender")
    if not isinstance(sender, str) or not sender:
        raise BadRequest(422, "'sender' is required and must be a non-empty string")
    if not SENDER.match(sender):
        raise BadRequest(422, "'sender' may contain only letters, digits and _.:@- (at most 128)")
    message = data.get("message")
    if not isinstance(message, str):
        raise BadRequest(422, "'message' is required and must be a string")
    if not message.strip():
        raise BadRequest(422, "'message' is empty")
    if len(message) > max_chars:
        raise BadRequest(422, f"'message' is longer than {max_chars} characters")
    return sender, message


def router() -> APIRouter:
    api = APIRouter()

    @api.post(
        "/webhooks/rest/webhook",
        response_model=list[BotMessage],
        responses={
            **errors(400, 413, 422, 503),
            200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        },
        openapi_extra=json_body(WebhookRequest),
    )
    async def rest_webhook(request: Request, stream: str | None = None) -> Response:
        """Rasa's REST channel. With `?stream=true` (as `rasa shell` sends) the answer is
        `text/event-stream`, one JSON message per line, as Rasa 3.6 streams it; any `?token=` is
        ignored (Rasa's console sends an empty one)."""
        # the app's services read directly, not as FastAPI dependencies: resolving two of them
        # cost ~6 % of this route's CPU (issue 12), and this is the route every message takes
        services: Services = request.app.state.services
        dispatcher: Dispatcher = request.app.state.dispatcher
        data = await read_json_object(request)
        sender, message = parse_message(data, services.settings.max_message_chars)
        validate(WebhookRequest, data)  # unknown keys, `input_channel`, `metadata`
        client_address = request.client.host if request.client else None
        event = InboundEvent(
            channel="web", sender_id=sender, text=message, client_address=client_address, metadata={REPLY_IDS: []}
        )
        replies = await dispatcher.handle(event)
        await wake(services, sender)  # the turn's rows, for this sender's open widgets (other tabs)
        messages = render(replies, sender)
        ids = event.metadata[REPLY_IDS]
        if len(ids) == len(messages):  # the transcript rows' ids, to match these against WebSocket frames
            for message_, id_ in zip(messages, ids, strict=True):
                message_["id"] = id_
        if (stream or "").lower() == "true":  # Rasa: bool_arg(request, "stream")
            return StreamingResponse(_lines(messages), media_type="text/event-stream")
        return UTF8JSONResponse(messages)

    @api.post("/webhooks/rest/session", response_model=SessionAnswer, responses=errors(503))
    async def new_session(services: ServicesDep) -> dict[str, str]:
        """An unguessable web chat identity for one browser; only these can be linked to a resident."""
        from bot.engine.identity import issue_web_session

        return {"sender": await issue_web_session(services.sessionmaker)}

    @api.get("/webhooks/rest/", response_model=StatusAnswer)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.websocket("/webhooks/rest/ws")
    async def live_ws(websocket: WebSocket) -> None:
        """CONTRACTS §3: the first frame is `{"sender": "…", "after": <id> | null}`; then every
        message of the conversation after `after`, in order, and each new one as it happens."""
        await websocket.accept()
        if "sender" in websocket.query_params:
            await websocket.close(code=1008, reason="send the sender in the first frame, not in the URL")
            return
        try:
            data = await live.first_frame(websocket)
            if data is None:
                return  # the client went away
            sender, after = _subscription(data)
        except live.FrameError as exc:
            await websocket.close(code=1008, reason=str(exc))
            return
        services: Services = websocket.app.state.services
        conversation_id = f"web:{sender}"
        if after is None:  # "from now on": what is committed after this read is sent (the pump reads first)
            after = await live.latest_id(services.engine, conversation_id)
        async with services.hub.subscribe(conversation_id) as wakeup:
            fetch = partial(conversation_frames, services, sender)
            poll = services.settings.live_poll_seconds
            await live.pump(websocket, wakeup, fetch, after, poll_seconds=poll, one_frame_per_row=True)

    return api


async def _lines(messages: list[dict[str, Any]]) -> AsyncIterator[str]:
    for message in messages:
        yield json.dumps(message, ensure_ascii=False) + "\n"


def _subscription(data: dict[str, Any]) -> tuple[str, int | None]:
    sender = data.get("sender")
    if not isinstance(sender, str) or not SENDER.match(sender):
        raise live.FrameError('the first frame must be {"sender": "…", "after": <id> | null}')
    return sender, live.parse_after(data.get("after"))


class TranscriptRow(NamedTuple):
    """What a widget frame needs of a transcript row."""

    id: int
    direction: str
    author: str
    text: str
    payload: dict[str, Any] | None


async def conversation_frames(services: Services, sender: str, after: int) -> list[dict[str, Any]]:
    """The web conversation's transcript rows after `after`, in REST form plus `id`. Read at every
    message for each open widget: one autocommit statement on the driver connection (bot.store.raw),
    no session, no ORM objects (a session's read cost more than the turn itself: issue 12)."""
    statement = raw.compiled("messages.frames", services.engine.dialect, _frames)
    values = {"cid": f"web:{sender}", "after": after, "batch": live.BATCH}
    rows = await raw.read(services.engine, statement, values)
    return [row_frame(TranscriptRow(*row), sender) for row in rows]


def _frames() -> Any:
    columns = (Message.id, Message.direction, Message.author, Message.text, Message.payload)
    return (
        select(*columns)
        .where(Message.conversation_id == bindparam("cid"), Message.id > bindparam("after", type_=Integer()))
        .order_by(Message.id)
        .limit(bindparam("batch", type_=Integer()))
    )


def row_frame(row: TranscriptRow, recipient_id: str) -> dict[str, Any]:
    """A transcript row as the widget shows it. The resident's own messages are messages of the
    conversation too: `custom.sender` is "resident" (their text as sent: a pressed button's is its
    payload, which the widget shows as the button's title), like staff messages carry "staff"."""
    if row.direction == "in":
        frame: dict[str, Any] = {"recipient_id": recipient_id, "text": row.text, "custom": {"sender": "resident"}}
    else:
        author = row.author if row.author in ("bot", "staff") else "bot"
        reply = reply_from_dict({**(row.payload or {}), "text": row.text, "sender": author})
        frame = render([reply], recipient_id)[0]
    frame["id"] = row.id
    return frame


async def wake(services: Services, sender_id: str) -> None:
    """Best effort (the hub logs a failure): the rows are committed, and a lost wake-up only
    waits for the open widgets' poll."""
    await services.hub.wake(f"web:{sender_id}")


async def deliver(services: Services, sender_id: str, replies: list[Reply]) -> None:
    """Later messages (staff replies) are already in the transcript: wake the open widgets."""
    await wake(services, sender_id)
