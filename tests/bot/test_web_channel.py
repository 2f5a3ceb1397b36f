"""The web chat REST channel end to end: replies, transcript, and bad input."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.store.models import Message

URL = "/webhooks/rest/webhook"


def sender() -> str:
    return f"web-{uuid.uuid4().hex[:12]}"


def transcript(client: TestClient, conversation_id: str) -> list[tuple[str, str]]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[tuple[str, str]]:
        async with services.sessionmaker() as s:
            rows = await s.scalars(
                select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
            )
            return [(r.direction, r.text) for r in rows]

    return client.portal.call(read)  # type: ignore[union-attr]


def count_messages(client: TestClient) -> int:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> int:
        async with services.sessionmaker() as s:
            return int(await s.scalar(select(func.count(Message.id))) or 0)

    return client.portal.call(read)  # type: ignore[union-attr]


def test_message_gets_japanese_reply_and_both_directions_are_stored(client: TestClient) -> None:
    who = sender()
    res = client.post(URL, json={"sender": who, "message": "こんにちは"})
    assert res.status_code == 200
    body = res.json()
    assert body and all(m["recipient_id"] == who for m in body)
    assert "窓口" in body[0]["text"]
    assert any(b["payload"] == "/request_human" for b in body[0]["buttons"])
    rows = transcript(client, f"web:{who}")
    assert rows[0] == ("in", "こんにちは")
    assert [d for d, _ in rows[1:]] == ["out"] * len(body)


def test_button_payload_is_the_same_as_pressing_it(client: TestClient) -> None:
    who = sender()
    res = client.post(URL, json={"sender": who, "message": "/bot_capabilities"})
    assert res.status_code == 200
    assert "お手伝いできます" in res.json()[0]["text"]


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"sender": "a\\u00e9"}'.replace(b"\\u00e9", b"\xff"), 400, "UTF-8"),
        (b'{"message": "hi"}', 422, "sender"),
        (b'{"sender": "", "message": "hi"}', 422, "sender"),
        (b'{"sender": "x y z", "message": "hi"}', 422, "sender"),
        (b'{"sender": "abc", "message": ""}', 422, "empty"),
        (b'{"sender": "abc", "message": "   "}', 422, "empty"),
        (b'{"sender": "abc", "message": 5}', 422, "string"),
        (b'{"sender": "abc"}', 422, "message"),
    ],
)
def test_bad_input_is_a_clear_4xx_and_stores_nothing(client: TestClient, body: bytes, status: int, reason: str) -> None:
    before = count_messages(client)
    res = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == status
    assert reason in res.json()["error"]
    assert count_messages(client) == before
    assert client.post(URL, json={"sender": sender(), "message": "こんにちは"}).status_code == 200


def test_too_long_message_is_refused(client: TestClient) -> None:
    before = count_messages(client)
    res = client.post(URL, json={"sender": sender(), "message": "あ" * 10_000})
    assert res.status_code == 422
    assert "longer than" in res.json()["error"]
    assert count_messages(client) == before


def test_huge_body_is_refused(client: TestClient) -> None:
    res = client.post(URL, content=b'{"sender": "a", "message": "' + b"a" * 200_000 + b'"}')
    assert res.status_code == 413


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "state": "ok", "nlu": "ok"}


def test_model_parse_endpoint(client: TestClient) -> None:
    res = client.post("/model/parse", json={"text": "住民票を取りたい", "today": "2026-11-27"})
    assert res.status_code == 200
    data = res.json()
    assert data["text"] == "住民票を取りたい"
    assert data["intent"]["name"] == "juminhyo"
    assert client.post("/model/parse", json={"text": "x", "today": "27/11"}).status_code == 422
    assert client.post("/model/parse", content=b"nope").status_code == 400


def test_staff_reply_reaches_open_websocket(client: TestClient) -> None:
    from bot.channels.web import deliver
    from tests.bot.live_ws import receive

    who = sender()
    client.post(URL, json={"sender": who, "message": "こんにちは"})
    services = client.app.state.services  # type: ignore[attr-defined]
    with client.websocket_connect("/webhooks/rest/ws") as ws:
        ws.send_json({"sender": who, "after": None})

        async def wait_and_send() -> None:
            for _ in range(100):
                if services.hub.has_subscribers(f"web:{who}"):
                    break
                await asyncio.sleep(0.01)
            await staff_message(services, who, "職員の田中です。")
            await deliver(services, who, [])

        client.portal.call(wait_and_send)  # type: ignore[union-attr]
        message = receive(ws)
    assert message["recipient_id"] == who and message["text"] == "職員の田中です。"
    assert message["custom"] == {"sender": "staff"} and isinstance(message["id"], int)


async def staff_message(services, who: str, text: str) -> None:  # type: ignore[no-untyped-def]
    from bot.engine.transcript import TranscriptEntry, append_messages
    from bot.store.models import Conversation

    async with services.sessionmaker() as s, s.begin():
        conv = await s.get(Conversation, f"web:{who}")
        await append_messages(
            s, conversation=conv, entries=[TranscriptEntry(direction="out", author="staff", text=text)]
        )


def test_websocket_needs_a_sender(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    from tests.bot.live_ws import receive

    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/webhooks/rest/ws") as ws:
        ws.send_json({"after": None})
        receive(ws)
    assert closed.value.code == 1008 and "sender" in closed.value.reason


async def test_outbound_writer_runs_inside_the_turns_transaction(dispatcher, services) -> None:  # type: ignore[no-untyped-def]
    """A channel's outbox rows are written with the transcript, or neither is (LINE relies on it)."""
    from bot.engine.events import InboundEvent
    from bot.engine.transcript import list_messages

    seen: list[tuple[bool, list[str], int]] = []

    async def writer(session, event, replies) -> None:  # type: ignore[no-untyped-def]
        rows = await list_messages(session, conversation_id=event.conversation_id)  # the claimed row's turn
        seen.append((session.in_transaction(), [r.text for r in replies if r.text], len(rows)))
        if event.text == "失敗":
            raise RuntimeError("outbox write failed")

    dispatcher.outbound_writers["web"] = writer
    await dispatcher.handle(InboundEvent(channel="web", sender_id="ow-1", text="こんにちは"))
    assert seen[0][0] is True and seen[0][1]  # in the turn's transaction, with the turn's replies
    async with services.sessionmaker() as session:
        stored = await list_messages(session, conversation_id="web:ow-1")
    assert [r.direction for r in stored][:2] == ["in", "out"]  # committed together with the outbox rows

    with pytest.raises(RuntimeError):
        await dispatcher.handle(InboundEvent(channel="web", sender_id="ow-2", text="失敗"))
    async with services.sessionmaker() as session:
        assert await list_messages(session, conversation_id="web:ow-2") == []  # rolled back together


def test_pages_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "デモ区" in page.text and "架空" in page.text
    assert client.get("/static/widget.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/staff").status_code == 200
    assert client.get("/favicon.ico").status_code == 204
