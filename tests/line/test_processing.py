"""Processing of stored LINE events off the acknowledging loop (bot/channels/line_process.py):
a thread of its own, each event once, a sender's events in order, pending events resumed at
start, redeliveries deduplicated; and SQLite's writer gate shared by the two loops."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.line_outbox import LineTuning, PendingEvent
from bot.channels.line_process import Job, LineProcessor, lane_key
from bot.engine.locks import WriterGate
from bot.store.models import Message
from tests.line import webhooks as wh
from tests.line.standin import StandIn


class BlockingInterpreter:
    """Blocks the loop it runs on (no await) until released, and notes the thread it ran on."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.release, self.threads = inner, threading.Event(), set[int]()

    async def parse(self, text: str, today: Any = None) -> dict[str, Any]:
        self.threads.add(threading.get_ident())
        self.release.wait(timeout=30)  # holds the processing loop: a synchronous, slow step of a turn
        return await self.inner.parse(text, today=today)


def test_a_turn_that_holds_its_loop_does_not_hold_the_acknowledgement(client: TestClient, standin: StandIn) -> None:
    services = client.app.state.services  # type: ignore[attr-defined]
    blocking = BlockingInterpreter(services.interpreter)
    services.interpreter = blocking
    try:
        assert wh.post(client, wh.text("こんにちは")).status_code == 200
        # the first turn now holds the processing loop; the app's loop still answers webhooks
        assert wh.post(client, wh.text("住民票", user="U" + "1" * 32)).status_code == 200
        assert not blocking.release.is_set() and not standin.delivered
    finally:
        blocking.release.set()
    wh.drain(client)
    assert len(standin.delivered) == 2
    app_thread = client.portal.call(lambda: asyncio.sleep(0, threading.get_ident()))  # type: ignore[union-attr]
    assert blocking.threads and app_thread not in blocking.threads


def _messages_in(client: TestClient, conversation_id: str) -> list[str]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> list[str]:
        query = (
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .order_by(Message.id)
        )
        async with services.sessionmaker() as s:
            return list(await s.scalars(query))

    return client.portal.call(read)  # type: ignore[union-attr]


def test_each_event_once_and_a_senders_events_in_order(client: TestClient, standin: StandIn) -> None:
    texts = ["こんにちは", "住民票がほしい", "はい", "いいえ", "ありがとう"]
    other = "U" + "2" * 32
    events = [wh.text(t) for t in texts]
    for i, event in enumerate(events):
        assert wh.post(client, event, wh.text("こんばんは", user=other)).status_code == 200
        if i == 2:  # LINE's redelivery of an event already stored: a duplicate, not a second turn
            assert wh.post(client, events[0]).status_code == 200
    wh.drain(client)
    assert _messages_in(client, f"line:{wh.USER}") == texts
    assert len(_messages_in(client, f"line:{other}")) == 5
    assert wh.count_messages(client, conversation_id=f"line:{wh.USER}", direction="in") == len(texts)


def test_pending_events_are_resumed_at_start_in_arrival_order(app: FastAPI, standin: StandIn) -> None:
    """As a crash leaves them: stored, never processed; the next start processes each once, in order."""
    texts = ["こんにちは", "住民票がほしい", "はい"]
    events = [wh.text(t) for t in texts]
    with TestClient(app) as client:

        async def as_if_crashed() -> None:
            base = datetime.now(UTC)
            async with client.app.state.services.sessionmaker() as session, session.begin():  # type: ignore[attr-defined]
                for i, raw in reversed(list(enumerate(events))):  # inserted out of order on purpose
                    at = base + timedelta(milliseconds=i)
                    session.add(PendingEvent(webhook_event_id=raw["webhookEventId"], event=raw, received_at=at))

        client.portal.call(as_if_crashed)  # type: ignore[union-attr]
    with TestClient(app) as client:
        wh.drain(client)
        assert _messages_in(client, f"line:{wh.USER}") == texts
        assert wh.post(client, events[1]).status_code == 200  # redelivered after the restart
        wh.drain(client)
        assert _messages_in(client, f"line:{wh.USER}") == texts
    assert len(standin.delivered) == len(texts)


def test_inline_processing_still_works(app: FastAPI, standin: StandIn, tuning: LineTuning) -> None:
    tuning.processing = "inline"
    with TestClient(app) as client:
        assert wh.post(client, wh.text("こんにちは")).status_code == 200
        wh.drain(client)
        assert client.app.state.line._thread is None  # type: ignore[attr-defined]
    assert len(standin.delivered) == 1


# -- the lanes, without the app -----------------------------------------------------------------------


class _Recorder(LineProcessor):
    """Lanes of a real processor with the turn replaced: records start/end per event."""

    def __init__(self, workers: int, gate: dict[str, asyncio.Event]) -> None:
        self.tuning = LineTuning(workers=workers)
        self.lanes = [asyncio.Queue() for _ in range(workers)]
        self._idle = asyncio.Event()
        self._idle.set()
        self.backlog = 0
        self.log: list[str] = []
        self.gate = gate

    async def _handle(self, job: Job) -> None:
        name = job.raw["text"]
        self.log.append(f"start {name}")
        if name in self.gate:
            await self.gate[name].wait()
        await asyncio.sleep(0)
        self.log.append(f"end {name}")


def test_a_slow_event_holds_its_senders_next_events_and_nobody_elses() -> None:
    def job(sender: str, text: str) -> Job:
        return Job(raw={"webhookEventId": f"{sender}-{text}", "source": {"userId": sender}, "text": text})

    async def scenario() -> list[str]:
        gate = {"a1": asyncio.Event()}
        proc = _Recorder(workers=4, gate=gate)
        lanes = {lane_key(job(s, "x").raw) for s in ("UA", "UB")}
        assert lanes == {"UA", "UB"}
        workers = [asyncio.create_task(proc._work(lane)) for lane in proc.lanes]
        try:
            proc.submit([job("UA", "a1"), job("UA", "a2"), job("UB", "b1"), job("UA", "a3"), job("UB", "b2")])
            for _ in range(1000):  # UB's events finish while UA's first is held
                if "end b2" in proc.log:
                    break
                await asyncio.sleep(0)
            assert "end b2" in proc.log and "start a2" not in proc.log
            gate["a1"].set()
            await asyncio.wait_for(proc.join(), 10)
        finally:
            for w in workers:
                w.cancel()
        return proc.log

    log = asyncio.run(scenario())
    a = [e for e in log if e.split()[1].startswith("a")]
    assert a == ["start a1", "end a1", "start a2", "end a2", "start a3", "end a3"]


def test_a_group_and_a_room_are_their_own_order_keys() -> None:
    assert lane_key({"source": {"type": "group", "groupId": "Cg", "userId": "Uu"}}) == "Cg"
    assert lane_key({"source": {"type": "room", "roomId": "Rr", "userId": "Uu"}}) == "Rr"
    assert lane_key({"source": {"type": "user", "userId": "Uu"}}) == "Uu"
    assert lane_key({"type": "x"}) == ""


# -- SQLite's writer gate, shared by the app's loop and the processing thread's ----------------------


def test_writer_gate_is_one_writer_across_two_loops() -> None:
    gate = WriterGate()
    inside, most = [0], [0]
    lock = threading.Lock()

    async def writer(n: int) -> None:
        for _ in range(n):
            async with gate:
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                await asyncio.sleep(0.001)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=asyncio.run, args=(writer(30),)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert most == [1] and inside == [0]


def test_writer_gate_passes_on_when_a_waiter_on_another_loop_is_cancelled() -> None:
    gate = WriterGate()
    other = asyncio.new_event_loop()
    thread = threading.Thread(target=other.run_forever)
    thread.start()

    async def scenario() -> bool:
        await gate.acquire()
        waiting = asyncio.run_coroutine_threadsafe(gate.acquire(), other)  # waits on the other loop
        third = asyncio.ensure_future(gate.acquire())
        await asyncio.sleep(0.05)
        waiting.cancel()  # cancelled in its queue, or just as it was handed the gate
        gate.release()
        await asyncio.wait_for(third, 5)  # the gate came to the third waiter all the same
        gate.release()
        return True

    try:
        assert asyncio.run(scenario())
    finally:
        other.call_soon_threadsafe(other.stop)
        thread.join(timeout=5)
        other.close()
