"""Delivery guarantees: retries with backoff, push when the reply cannot be used, never lost."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.line_outbox import LineTuning, OutboxRow, PendingEvent
from bot.engine.events import Card, Reply
from tests.line import webhooks as wh
from tests.line.standin import StandIn

REPLY, PUSH = "/v2/bot/message/reply", "/v2/bot/message/push"


def rows(client: TestClient, model: Any = OutboxRow) -> list[Any]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[Any]:
        query = select(model)
        if model is OutboxRow:  # this test's rows only (PostgreSQL keeps one database per session)
            query = query.where(OutboxRow.recipient_id.in_([wh.USER, wh.GROUP]))
        async with services.sessionmaker() as s:
            return list(await s.scalars(query))

    return client.portal.call(read)  # type: ignore[union-attr]


def test_500_then_200_is_retried_and_arrives_once(client: TestClient, standin: StandIn) -> None:
    standin.fail(REPLY, times=1, status=500)
    event = wh.text("こんにちは")
    wh.post(client, event)
    wh.drain(client)
    assert len(standin.calls_to(REPLY)) == 2
    [delivery] = standin.delivered
    assert (delivery.via, delivery.to) == ("reply", event["replyToken"])
    [row] = rows(client)
    assert (row.status, row.attempts) == ("sent", 2)


def test_reply_timing_out_is_retried_then_pushed_once_with_one_retry_key(client: TestClient, standin: StandIn) -> None:
    standin.hang(REPLY, 1.2, times=3)  # every reply attempt times out (request timeout 0.5 s)
    standin.hang(PUSH, 1.2, times=1, deliver=True)  # the push gets through but its answer is lost
    wh.post(client, wh.text("こんにちは"))
    wh.drain(client, timeout=20)
    assert len(standin.calls_to(REPLY)) == 3
    pushes = standin.calls_to(PUSH)
    assert len(pushes) == 2  # retried after the timeout; LINE answered 409 for the repeated key
    keys = {p.header("X-Line-Retry-Key") for p in pushes}
    assert len(keys) == 1 and None not in keys
    [delivery] = standin.delivered
    assert (delivery.via, delivery.to) == ("push", wh.USER)
    assert [r.status for r in rows(client)] == ["sent"]


def test_used_or_expired_reply_token_falls_back_to_push(client: TestClient, standin: StandIn) -> None:
    event = wh.text("こんにちは")
    standin.expired_tokens.add(event["replyToken"])
    wh.post(client, event)
    wh.drain(client)
    assert len(standin.calls_to(REPLY)) == 1
    [delivery] = standin.delivered
    assert delivery.via == "push" and "窓口" in delivery.messages[0]["text"]


def test_a_turn_past_the_reply_deadline_is_pushed(client: TestClient, standin: StandIn) -> None:
    wh.post(client, wh.text("こんにちは", age_seconds=55))
    wh.drain(client)
    assert not standin.calls_to(REPLY)
    assert [d.via for d in standin.delivered] == ["push"]


def test_more_than_five_messages_go_out_as_a_reply_then_a_push(client: TestClient, standin: StandIn) -> None:
    channel = client.app.state.line  # type: ignore[attr-defined]
    card = Card(title="持ち物", lines=("本人確認書類",), kind="checklist")
    replies = [Reply(text=f"ご案内{i}", card=card) for i in range(4)]  # 8 messages, none mergeable
    target = wh.USER

    async def send() -> None:
        from datetime import UTC, datetime

        from bot.channels.line import Target

        await channel.send(Target(target, "token-many", datetime.now(UTC), True), replies)

    client.portal.call(send)  # type: ignore[union-attr]
    wh.drain(client)
    assert [(d.via, len(d.messages)) for d in standin.delivered] == [("reply", 5), ("push", 3)]
    texts = [m.get("text") or m["altText"] for d in standin.delivered for m in d.messages]
    assert texts[0] == "ご案内0" and texts[-1].startswith("持ち物")


def test_staff_replies_are_pushed_with_the_staff_sender_name(client: TestClient, standin: StandIn) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    replies = [Reply(text="担当の者です。", sender="staff")]

    async def staff_reply() -> None:  # as the staff API does: rows in its transaction, then a wake-up
        async with services.sessionmaker() as db, db.begin():
            await services.outbox_writers["line"](db, wh.USER, replies)
        await services.deliver("line", wh.USER, replies)

    client.portal.call(staff_reply)  # type: ignore[union-attr]
    wh.drain(client)
    [call] = standin.calls_to(PUSH)
    assert call.json["to"] == wh.USER
    assert call.json["messages"][0]["sender"]["name"] == "窓口の職員"
    assert call.header("X-Line-Retry-Key")


def test_pending_messages_survive_a_restart(app: FastAPI, standin: StandIn) -> None:
    standin.fail("/v2/bot/message/", times=1000, status=503)
    with TestClient(app) as client:
        wh.post(client, wh.text("こんにちは"))
        client.portal.call(client.app.state.line.join)  # type: ignore[attr-defined]
        client.portal.call(asyncio.sleep, 0.3)  # type: ignore[union-attr]
        assert [r.status for r in rows(client)] == ["pending"]
        assert [r.attempts for r in rows(client)][0] >= 1  # a send was tried and failed
    assert not standin.delivered
    assert any(c.path.startswith("/v2/bot/message/") for c in standin.calls)
    standin.faults.clear()
    with TestClient(app) as client:  # a new start picks the row up
        wh.drain(client)
        assert [r.status for r in rows(client)] == ["sent"]
    assert len(standin.delivered) == 1


class SlowInterpreter:
    def __init__(self, inner: Any, delay: float) -> None:
        self.inner, self.delay = inner, delay

    async def parse(self, text: str, today: Any = None) -> dict[str, Any]:
        await asyncio.sleep(self.delay)
        return await self.inner.parse(text, today=today)


def slow_down(client: TestClient, delay: float) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    services.interpreter = SlowInterpreter(services.interpreter, delay)


class HeldUntilLoading:
    """Slow turns without a wall-clock margin: the one-to-one turn ("こんにちは") is held until the
    loading animation was asked for; any other turn is held `hold` s, far past `loading_after`, so
    a group chat had every chance to get one too."""

    def __init__(self, inner: Any, standin: StandIn, hold: float = 0.5) -> None:
        self.inner, self.standin, self.hold = inner, standin, hold

    async def parse(self, text: str, today: Any = None) -> dict[str, Any]:
        if text != "こんにちは":
            await asyncio.sleep(self.hold)
        else:
            with anyio.move_on_after(10.0):  # the assertions below fail if it never came
                while not self.standin.calls_to("/v2/bot/chat/loading/start"):
                    await asyncio.sleep(0.01)
        return await self.inner.parse(text, today=today)


def test_slow_answer_shows_the_loading_animation_in_one_to_one_chats(
    app: FastAPI, standin: StandIn, tuning: LineTuning
) -> None:
    tuning.loading_after = 0.05
    with TestClient(app) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        services.interpreter = HeldUntilLoading(services.interpreter, standin)
        _slow_turns_in_two_chats(client, standin)


def _slow_turns_in_two_chats(client: TestClient, standin: StandIn) -> None:
    one_to_one = wh.text("こんにちは")
    wh.post(client, one_to_one)
    wh.post(client, wh.text("こんばんは", group=wh.GROUP))
    wh.drain(client)
    [call] = standin.calls_to("/v2/bot/chat/loading/start")
    assert call.json["chatId"] == wh.USER and call.json["loadingSeconds"] % 5 == 0
    [answer] = [c for c in standin.calls_to(REPLY) if c.json["replyToken"] == one_to_one["replyToken"]]
    assert call.at < answer.at
    assert len(standin.delivered) == 2


class GatedInterpreter:
    """Holds every turn until the test opens the gate: no wall-clock margin to flake."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.gate, self.entered = inner, threading.Event(), threading.Event()

    async def parse(self, text: str, today: Any = None) -> dict[str, Any]:
        self.entered.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.01)
        return await self.inner.parse(text, today=today)


def test_acknowledgement_does_not_wait_for_a_slow_turn(client: TestClient, standin: StandIn) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    gated = GatedInterpreter(services.interpreter)
    services.interpreter = gated
    assert wh.post(client, wh.text("こんにちは")).status_code == 200  # while the turn cannot finish
    assert not gated.gate.is_set()
    assert not standin.delivered
    gated.gate.set()
    wh.drain(client)
    assert gated.entered.is_set()
    assert len(standin.delivered) == 1


def test_events_still_queued_at_shutdown_are_processed_after_restart(app: FastAPI, standin: StandIn) -> None:
    app.state.line_tuning.drain_seconds = 0.1
    with TestClient(app) as client:
        slow_down(client, 3.0)
        wh.post(client, wh.text("こんにちは"))
        assert len(rows(client, PendingEvent)) == 1  # stored before the 200, while still processing
    assert not standin.delivered
    with TestClient(app) as client:
        wh.drain(client)
        assert not rows(client, PendingEvent)  # processed, then forgotten
    assert len(standin.delivered) == 1


def test_an_event_acknowledged_just_before_a_crash_is_processed_once_after_restart(
    app: FastAPI, standin: StandIn
) -> None:
    """Events are stored before the 200: a crash between the acknowledgement and processing loses
    nothing, and one processed right before the crash is not answered twice."""
    crashed = wh.text("住民票がほしい")
    done_before_crash = wh.text("こんにちは")
    with TestClient(app) as client:
        wh.post(client, done_before_crash)
        wh.drain(client)
        assert len(standin.delivered) == 1

        async def as_if_crashed() -> None:  # both stored as pending, as a crash would leave them
            async with client.app.state.services.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
                for raw in (crashed, done_before_crash):
                    session.add(
                        PendingEvent(webhook_event_id=raw["webhookEventId"], event=raw, received_at=datetime.now(UTC))
                    )

        client.portal.call(as_if_crashed)  # type: ignore[union-attr]
    with TestClient(app) as client:
        wh.drain(client)
        assert not rows(client, PendingEvent)
    assert len(standin.delivered) == 2  # the crashed one answered; the other not again


def test_unconfigured_line_answers_503(settings: Any, interpreter: Any) -> None:
    from server import create_app

    app = create_app(settings.model_copy(update={"line_channel_secret": ""}), interpreter=interpreter)
    with TestClient(app) as client:
        res = wh.post(client, wh.text("こんにちは"))
        assert res.status_code == 503 and "not configured" in res.json()["error"]
