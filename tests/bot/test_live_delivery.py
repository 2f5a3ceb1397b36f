"""Live delivery by cursor (CONTRACTS §3): the widget's and the console's WebSockets send the
transcript after the client's last id, in order and none twice, across idle periods, reconnects,
a second app instance and a Redis restart. Every receive has a timeout (tests/bot/live_ws.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from bot.channels import live
from bot.settings import Settings
from bot.store.models import Message
from tests.bot.live_ws import nothing_within, receive
from tests.servers import throwaway_redis

URL = "/webhooks/rest/webhook"
TOKEN = "live-staff-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def make_app(settings: Settings, interpreter, **changes: object) -> FastAPI:  # type: ignore[no-untyped-def]
    from server import create_app

    return create_app(settings.model_copy(update={"staff_token": TOKEN, **changes}), interpreter=interpreter)


@pytest.fixture
def staff_client(settings: Settings, interpreter) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(make_app(settings, interpreter)) as c:
        yield c


def new_sender() -> str:
    return f"w-{uuid.uuid4().hex[:16]}"


def say(client: TestClient, who: str, text: str) -> list[dict[str, object]]:
    res = client.post(URL, json={"sender": who, "message": text})
    assert res.status_code == 200, res.text
    return res.json()  # type: ignore[no-any-return]


def row_ids(client: TestClient, who: str) -> list[int]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[int]:
        async with services.sessionmaker() as s:
            return list(
                await s.scalars(select(Message.id).where(Message.conversation_id == f"web:{who}").order_by(Message.id))
            )

    return client.portal.call(read)  # type: ignore[no-any-return, union-attr]


def widget(client: TestClient, who: str, after: int | None):  # type: ignore[no-untyped-def]
    ws = client.websocket_connect("/webhooks/rest/ws")
    session = ws.__enter__()
    session.send_json({"sender": who, "after": after})
    return ws, session


def wait_subscribed(client: TestClient, topic: str | None) -> None:
    """Until a WebSocket of `topic` is subscribed in this instance (None: any) and, with Redis,
    the instance's hub holds its Redis subscription. A socket subscribes after reading its cursor
    (`after: null`), so what is committed from then on reaches it."""
    services = client.app.state.services  # type: ignore[attr-defined]
    connected = getattr(services.hub, "connected", None)

    async def wait() -> None:
        with anyio.fail_after(20):
            while topic is not None and not services.hub.has_subscribers(topic):
                await asyncio.sleep(0.01)
            if connected is not None:
                await connected.wait()

    client.portal.call(wait)  # type: ignore[union-attr]


def hand_to_staff(client: TestClient, who: str) -> str:
    cid = f"web:{who}"
    say(client, who, "/request_human")
    assert client.post(f"/staff/api/conversations/{cid}/take", headers=AUTH, json={}).status_code == 200
    return cid


def staff_reply(client: TestClient, cid: str, text: str, attempts: int = 1) -> None:
    for attempt in range(attempts):
        res = client.post(f"/staff/api/conversations/{cid}/messages", headers=AUTH, json={"text": text})
        if res.status_code == 200:
            return
        if attempt + 1 < attempts:
            time.sleep(0.25)
    raise AssertionError(res.text)


# ---- the first-frame protocol


def test_catch_up_after_an_id_in_order_then_new_ones(staff_client: TestClient) -> None:
    who = new_sender()
    first = say(staff_client, who, "/greet")  # an answer with buttons
    assert all(isinstance(m["id"], int) for m in first)  # the REST answer carries the rows' ids
    say(staff_client, who, "何ができますか")
    ids = row_ids(staff_client, who)
    assert [m["id"] for m in first] == ids[1 : 1 + len(first)]
    ws, session = widget(staff_client, who, after=ids[0])
    try:
        frames = [receive(session) for _ in ids[1:]]
        assert [f["id"] for f in frames] == ids[1:]
        assert frames[: len(first)] == first  # each frame is the REST message (buttons, custom, …) plus its id
        assert frames[len(first)]["text"] == "何ができますか"
        assert frames[len(first)]["custom"] == {"sender": "resident"}  # the resident's own message
        nothing_within(session, 0.5)  # none twice
        answer = say(staff_client, who, "児童手当について教えて")
        frames = [receive(session) for _ in range(1 + len(answer))]
        assert frames[0]["text"] == "児童手当について教えて"
        assert frames[1:] == answer  # each frame is the REST message (buttons, custom, …) plus its id
    finally:
        ws.__exit__(None, None, None)


def test_a_catch_up_longer_than_one_read_arrives_whole_then_new_ones(
    staff_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The widget's loop reads again only after a full batch (one read per message otherwise):
    with batches of 3, a catch-up of several batches still arrives whole, in order, none twice."""
    monkeypatch.setattr(live, "BATCH", 3)
    who = new_sender()
    for text in ("こんにちは", "何ができますか", "児童手当について教えて", "保育園について"):
        say(staff_client, who, text)
    ids = row_ids(staff_client, who)
    assert len(ids) > 2 * live.BATCH
    ws, session = widget(staff_client, who, after=0)
    try:
        assert [receive(session)["id"] for _ in ids] == ids
        nothing_within(session, 0.5)
        answer = say(staff_client, who, "ありがとう")
        assert [receive(session)["id"] for _ in range(1 + len(answer))] == row_ids(staff_client, who)[len(ids) :]
        nothing_within(session, 0.5)
    finally:
        ws.__exit__(None, None, None)


def test_after_null_sends_only_new_messages(staff_client: TestClient) -> None:
    who = new_sender()
    say(staff_client, who, "こんにちは")
    ws, session = widget(staff_client, who, after=None)
    try:
        wait_subscribed(staff_client, f"web:{who}")
        answer = say(staff_client, who, "ありがとう")
        assert receive(session)["text"] == "ありがとう"
        assert [receive(session)["id"] for _ in answer] == [m["id"] for m in answer]
    finally:
        ws.__exit__(None, None, None)


def test_a_session_the_server_issued_opens_the_socket_with_after_zero(staff_client: TestClient) -> None:
    res = staff_client.post("/webhooks/rest/session")
    assert res.status_code == 200 and res.json()["sender"].startswith("w-")
    who = res.json()["sender"]
    answer = say(staff_client, who, "/greet")
    ws, session = widget(staff_client, who, after=0)  # 0: the whole conversation
    try:
        frames = [receive(session) for _ in row_ids(staff_client, who)]
        assert [f["id"] for f in frames] == row_ids(staff_client, who)
        assert frames[1:] == answer
        nothing_within(session, 0.5)
    finally:
        ws.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("url", "frame", "reason"),
    [
        ("/webhooks/rest/ws?sender=w-abc", None, "first frame, not in the URL"),
        ("/webhooks/rest/ws", "hello", "JSON object"),
        ("/webhooks/rest/ws", '{"after": null}', "sender"),
        ("/webhooks/rest/ws", '{"sender": "w-abc", "after": "x"}', "after"),
        ("/webhooks/rest/ws", "", "no first frame in time"),
    ],
)
def test_a_connection_without_a_valid_first_frame_is_closed(
    staff_client: TestClient, monkeypatch: pytest.MonkeyPatch, url: str, frame: str | None, reason: str
) -> None:
    monkeypatch.setattr(live, "FIRST_FRAME_SECONDS", 0.3)
    with pytest.raises(WebSocketDisconnect) as closed, staff_client.websocket_connect(url) as ws:
        if frame:
            ws.send_text(frame)
        receive(ws)
    assert closed.value.code == 1008 and reason in closed.value.reason


# ---- staff replies across idle periods (the lost-message bug), other instances, Redis faults


def wake_only(settings: Settings, **changes: object) -> Settings:
    """Settings under which only a wake-up delivers in time: the safety poll would hide a dead
    subscription. The shared Redis client's socket timeout is short, so an idle period longer
    than it (the old bug: the listener died with it) costs the test little wall time."""
    return settings.model_copy(update={"live_poll_seconds": 600.0, "redis_socket_timeout": IDLE_TIMEOUT, **changes})


IDLE_TIMEOUT = 0.5


@pytest.mark.parametrize("hub", ["memory", "redis"])
def test_staff_replies_seconds_apart_all_reach_an_open_widget(
    settings: Settings, interpreter, request: pytest.FixtureRequest, hub: str
) -> None:  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("redis_url") if hub == "redis" else ""
    with TestClient(make_app(wake_only(settings, redis_url=url), interpreter)) as client:
        who = new_sender()
        cid = hand_to_staff(client, who)
        ws, session = widget(client, who, after=row_ids(client, who)[-1])
        try:
            wait_subscribed(client, cid)
            for n in range(3):
                if n:
                    time.sleep(IDLE_TIMEOUT * 3)  # the pub/sub connection is idle longer than the socket timeout
                staff_reply(client, cid, f"職員の返信{n}")
                frame = receive(session, timeout=10)
                assert frame["text"] == f"職員の返信{n}" and frame["custom"] == {"sender": "staff"}
            # the one subscription lived through the idle periods (a resubscription would hide the bug)
            assert getattr(client.app.state.services.hub, "subscriptions", 1) == 1  # type: ignore[attr-defined]
        finally:
            ws.__exit__(None, None, None)


def test_a_widget_reconnecting_to_another_instance_gets_exactly_what_it_missed(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    """Two app instances sharing the database (and Redis, when REDIS_URL is set)."""
    with TestClient(make_app(settings, interpreter)) as one, TestClient(make_app(settings, interpreter)) as two:
        who = new_sender()
        cid = hand_to_staff(one, who)
        ws, session = widget(one, who, after=row_ids(one, who)[-1])
        wait_subscribed(one, cid)
        staff_reply(one, cid, "最初の返信")
        last = receive(session)["id"]
        ws.__exit__(None, None, None)

        staff_reply(one, cid, "切断中の返信1")
        staff_reply(one, cid, "切断中の返信2")
        ws, session = widget(two, who, after=last)
        try:
            missed = [receive(session) for _ in range(2)]
            assert [m["text"] for m in missed] == ["切断中の返信1", "切断中の返信2"]
            assert missed[0]["id"] > last and missed[1]["id"] > missed[0]["id"]
            assert [m["id"] for m in missed] == row_ids(one, who)[-2:]  # exactly what it missed
            nothing_within(session, 0.5)  # and nothing twice
        finally:
            ws.__exit__(None, None, None)


def test_a_staff_reply_through_one_instance_reaches_a_widget_on_another(
    settings: Settings, interpreter, redis_url: str
) -> None:  # type: ignore[no-untyped-def]
    """Two instances sharing one Redis and one database; only the Redis wake-up can deliver in time."""
    shared = wake_only(settings, redis_url=redis_url)
    with TestClient(make_app(shared, interpreter)) as a, TestClient(make_app(shared, interpreter)) as b:
        who = new_sender()
        cid = hand_to_staff(a, who)
        ws, session = widget(b, who, after=row_ids(a, who)[-1])
        try:
            wait_subscribed(b, cid)
            wait_subscribed(a, None)
            staff_reply(a, cid, "別の窓口からの返信")
            frame = receive(session, timeout=10)
            assert frame["text"] == "別の窓口からの返信" and frame["id"] == row_ids(a, who)[-1]
            time.sleep(IDLE_TIMEOUT * 3)
            staff_reply(a, cid, "しばらくしてからの返信")
            assert receive(session, timeout=10)["text"] == "しばらくしてからの返信"
            assert a.app.state.services.hub.subscriptions == b.app.state.services.hub.subscriptions == 1  # type: ignore[attr-defined]
        finally:
            ws.__exit__(None, None, None)


def test_messages_after_a_redis_restart_still_arrive(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    with (
        throwaway_redis() as redis,
        TestClient(make_app(wake_only(settings, redis_url=redis.url), interpreter)) as client,
    ):
        who = new_sender()
        cid = hand_to_staff(client, who)
        ws, session = widget(client, who, after=row_ids(client, who)[-1])
        try:
            wait_subscribed(client, cid)
            staff_reply(client, cid, "再起動前")
            assert receive(session)["text"] == "再起動前"
            redis.kill()
            redis.start()  # empty: nothing of the subscription survives
            wait_subscribed(client, cid)  # the hub has subscribed again
            staff_reply(client, cid, "再起動後")
            assert receive(session, timeout=10)["text"] == "再起動後"
        finally:
            ws.__exit__(None, None, None)


def test_while_redis_is_away_the_poll_still_delivers(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    with throwaway_redis() as redis:
        changes = {"redis_url": redis.url, "live_poll_seconds": 0.5}
        with TestClient(make_app(settings, interpreter, **changes)) as client:
            who = new_sender()
            cid = hand_to_staff(client, who)
            ws, session = widget(client, who, after=row_ids(client, who)[-1])
            try:
                wait_subscribed(client, cid)
                redis.kill()
                staff_reply(client, cid, "Redis停止中の返信")  # committed; its wake-up is lost
                frame = receive(session, timeout=10)
                assert frame["text"] == "Redis停止中の返信" and frame["id"] == row_ids(client, who)[-1]
                nothing_within(session, 1.5)  # polls again and again, sends nothing twice
            finally:
                ws.__exit__(None, None, None)


# ---- the staff console


def test_the_staff_socket_catches_up_after_an_id(staff_client: TestClient) -> None:
    first, second = new_sender(), new_sender()
    say(staff_client, first, "/request_human")
    after = row_ids(staff_client, first)[-1]
    say(staff_client, second, "/request_human")
    with staff_client.websocket_connect("/staff/ws") as ws:
        ws.send_json({"type": "auth", "token": TOKEN, "after": after})
        assert receive(ws) == {"type": "ready"}
        frame = receive(ws)
        assert frame["conversation_id"] == f"web:{second}" and frame["status"] == "pending_handoff"
        assert frame["id"] == row_ids(staff_client, second)[-1] and "text" not in frame
        nothing_within(ws, 0.5)


@pytest.mark.parametrize("hub", ["memory", "redis"])
def test_resident_messages_reach_the_staff_console_feed(
    settings: Settings, interpreter, request: pytest.FixtureRequest, hub: str
) -> None:  # type: ignore[no-untyped-def]
    url = request.getfixturevalue("redis_url") if hub == "redis" else ""
    with TestClient(make_app(wake_only(settings, redis_url=url), interpreter)) as client:
        who = new_sender()
        cid = hand_to_staff(client, who)
        with client.websocket_connect("/staff/ws") as ws:
            ws.send_json({"type": "auth", "token": TOKEN, "after": None})
            assert receive(ws) == {"type": "ready"}
            wait_subscribed(client, "staff")
            for n in range(2):
                if n:
                    time.sleep(IDLE_TIMEOUT * 3)
                say(client, who, f"住民からの追加の質問{n}")
                frame = receive(ws, timeout=10)
                assert frame["conversation_id"] == cid and frame["id"] == row_ids(client, who)[-1]
                assert "text" not in frame  # the console reads the text through the checked REST API


def test_the_staff_socket_refuses_a_token_in_the_url(staff_client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as closed, staff_client.websocket_connect(f"/staff/ws?token={TOKEN}") as ws:
        ws.send_json({"type": "auth", "token": TOKEN, "after": None})
        receive(ws)
    assert closed.value.code == 1008
