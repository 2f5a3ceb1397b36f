"""The acknowledgement path's parts: the signature on raw bytes, the body limits, SQLite's writer
gate with a way in ahead of turns, and processing that gives way to acknowledgements in flight."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.line_ack import AckPriority, read_events, signature_ok, yielding
from bot.engine.locks import WriterGate
from tests.line import webhooks as wh


def test_signature_is_checked_on_the_raw_bytes() -> None:
    raw = wh.body(wh.text("こんにちは"))
    secret = wh.SECRET.encode()
    assert signature_ok(secret, raw, wh.sign(raw))
    assert not signature_ok(secret, raw + b" ", wh.sign(raw))
    assert not signature_ok(secret, raw, wh.sign(raw, "another-secret"))
    assert not signature_ok(secret, raw, "not base64!")
    assert not signature_ok(secret, raw, "")


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"events": {}}', b'{"events": [1]}', b'{"events": [{"type": "a\\u0000"}]}', b"[" * 40 + b"]" * 40],
)
def test_bodies_that_are_not_webhooks_are_refused(body: bytes) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        read_events(body)


def test_writer_gate_lets_an_acknowledgement_in_ahead_of_waiting_turns() -> None:
    async def scenario() -> list[str]:
        gate, order = WriterGate(), []

        async def turn(name: str) -> None:
            async with gate:
                order.append(name)
                await asyncio.sleep(0)

        async def ack() -> None:
            async with gate.first():
                order.append("ack")

        await gate.acquire()  # a turn holds the writer
        tasks = [asyncio.create_task(turn("t1")), asyncio.create_task(turn("t2"))]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(ack()))
        await asyncio.sleep(0)
        gate.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(scenario()) == ["ack", "t1", "t2"]


def test_writer_gate_passes_on_when_a_waiter_is_cancelled() -> None:
    async def scenario() -> bool:
        gate = WriterGate()
        await gate.acquire()
        waiting = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        gate.release()
        await asyncio.gather(waiting, return_exceptions=True)
        await asyncio.wait_for(gate.acquire(), 1)  # not left held by the cancelled waiter
        gate.release()
        return True

    assert asyncio.run(scenario())


def test_processing_waits_while_an_acknowledgement_is_in_flight_and_keeps_its_result() -> None:
    async def scenario() -> list[str]:
        priority, order = AckPriority(max_park=60), []

        async def work() -> str:
            order.append("work starts")
            await asyncio.sleep(0)
            order.append("work resumes")
            return "done"

        priority.begin()
        task = asyncio.create_task(yielding(work(), priority))
        for _ in range(5):
            await asyncio.sleep(0)
        order.append("ack ends")
        priority.end()
        order.append(await task)
        return order

    assert asyncio.run(scenario()) == ["work starts", "ack ends", "work resumes", "done"]


def test_yielding_carries_exceptions_and_cancellation_into_the_work() -> None:
    async def scenario() -> tuple[str, bool]:
        priority = AckPriority()
        seen = []

        async def fails() -> None:
            await asyncio.sleep(0)
            raise LookupError("no")

        async def cancelled() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen.append("cancel seen")
                raise

        try:
            await yielding(fails(), priority)
        except LookupError as exc:
            error = str(exc)
        task = asyncio.create_task(yielding(cancelled(), priority))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return error, seen == ["cancel seen"] and task.cancelled()

    assert asyncio.run(scenario()) == ("no", True)
