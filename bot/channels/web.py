"""Web chat channel: Rasa's REST channel (`POST /webhooks/rest/webhook`) and a WebSocket for
messages that arrive later (staff replies).

Input is checked before anything is stored: the body must be UTF-8 JSON, an object with a
non-empty `sender` and a `message` of at most MAX_MESSAGE_CHARS characters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response, StreamingResponse

from bot.deps import DispatcherDep, ServicesDep
from bot.events import InboundEvent, Reply
from bot.jsonbody import JSONRejected, loads_strict
from bot.schemas import BotMessage, SessionAnswer, StatusAnswer, WebhookRequest, errors, json_body, validate
from bot.services import Services

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
SENDER = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


class UTF8JSONResponse(JSONResponse):
    """JSON with Japanese left readable (`curl` shows 住民票, not \\u4f4f...)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
    async def rest_webhook(
        request: Request, services: ServicesDep, dispatcher: DispatcherDep, stream: str | None = None
    ) -> Response:
        """Rasa's REST channel. With `?stream=true` (as `rasa shell` sends) the answer is
        `text/event-stream`, one JSON message per line, as Rasa 3.6 streams it; any `?token=` is
        ignored (Rasa's console sends an empty one)."""
        data = await read_json_object(request)
        sender, message = parse_message(data, services.settings.max_message_chars)
        validate(WebhookRequest, data)  # unknown keys, `input_channel`, `metadata`
        client_address = request.client.host if request.client else None
        event = InboundEvent(channel="web", sender_id=sender, text=message, client_address=client_address)
        messages = render(await dispatcher.handle(event), sender)
        if (stream or "").lower() == "true":  # Rasa: bool_arg(request, "stream")
            return StreamingResponse(_lines(messages), media_type="text/event-stream")
        return UTF8JSONResponse(messages)

    @api.post("/webhooks/rest/session", response_model=SessionAnswer, responses=errors(503))
    async def new_session(services: ServicesDep) -> dict[str, str]:
        """An unguessable web chat identity for one browser; only these can be linked to a resident."""
        from bot.identity import issue_web_session

        return {"sender": await issue_web_session(services.sessionmaker)}

    @api.get("/webhooks/rest/", response_model=StatusAnswer)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.websocket("/webhooks/rest/ws")
    async def live(websocket: WebSocket) -> None:
        services: Services = websocket.app.state.services
        sender = websocket.query_params.get("sender", "")
        if not SENDER.match(sender):
            await websocket.close(code=1008, reason="sender is required")
            return
        await websocket.accept()
        async with services.hub.subscribe(f"web:{sender}") as queue:
            await _relay(websocket, queue)

    return api


async def _lines(messages: list[dict[str, Any]]) -> AsyncIterator[str]:
    for message in messages:
        yield json.dumps(message, ensure_ascii=False) + "\n"


async def _relay(
    websocket: WebSocket,
    queue: asyncio.Queue[dict[str, Any]],
    allowed: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Forward hub messages until the client goes away (noticed by the receive side) or, with
    `allowed`, until it says no before a message is sent (then close 1008: policy violation)."""
    closed = asyncio.ensure_future(_until_closed(websocket))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if closed in done:
                getter.cancel()
                return
            if allowed is not None and not await allowed():
                await websocket.close(code=1008, reason="the token is no longer valid")
                return
            await websocket.send_json(getter.result())
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        closed.cancel()


async def _until_closed(websocket: WebSocket) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return


async def deliver(services: Services, sender_id: str, replies: list[Reply]) -> None:
    """Send later messages (staff replies) to the open widgets of a web conversation."""
    for message in render(replies, sender_id):
        await services.hub.publish(f"web:{sender_id}", message)
