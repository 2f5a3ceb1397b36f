"""Per-conversation locks: same conversation one after the other, different ones at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest

from bot.engine.assembly import build_hooks, build_router
from bot.engine.dispatcher import Dispatcher
from bot.engine.events import InboundEvent
from bot.engine.locks import InMemoryLocker, Locker, LockTimeout
from bot.engine.state import begin_turn, claim
from bot.store.db import make_async_engine, make_sessionmaker


class RowLocker:
    """The order across workers: a conversation row claimed inside a transaction (PostgreSQL's
    `SELECT … FOR UPDATE`), here held open for as long as the block runs."""

    def __init__(self, sessionmaker, timeout_seconds: float) -> None:  # type: ignore[no-untyped-def]
        self._sessionmaker = sessionmaker
        self._timeout = timeout_seconds

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        async with self._sessionmaker() as db, db.begin():
            await begin_turn(db)
            await claim(
                db,
                conversation_id=key,
                channel="web",
                sender_id=key,
                lock_timeout_seconds=self._timeout,
                ttl_seconds=60,
            )
            yield


@pytest.fixture(params=["memory", "postgres-row"])
async def locker(request: pytest.FixtureRequest) -> AsyncIterator[Locker]:
    if request.param == "memory":
        yield InMemoryLocker(timeout_seconds=2)
        return
    engine = make_async_engine(request.getfixturevalue("postgres_url"))
    yield RowLocker(make_sessionmaker(engine), timeout_seconds=2)
    await engine.dispose()


async def test_same_key_is_exclusive(locker: Locker) -> None:
    inside = 0
    peak = 0

    async def work() -> None:
        nonlocal inside, peak
        async with locker.hold("web:same"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.05)
            inside -= 1

    await asyncio.gather(*(work() for _ in range(5)))
    assert peak == 1


async def test_different_keys_overlap(locker: Locker) -> None:
    both_inside = asyncio.Event()
    inside: set[str] = set()

    async def work(key: str) -> None:
        async with locker.hold(key):
            inside.add(key)
            if len(inside) == 2:
                both_inside.set()
            await asyncio.wait_for(both_inside.wait(), 2)

    await asyncio.gather(work("web:a"), work("web:b"))
    assert both_inside.is_set()


async def test_timeout_when_held_too_long() -> None:
    locker = InMemoryLocker(timeout_seconds=0.1)
    async with locker.hold("k"):
        with pytest.raises(LockTimeout):
            async with locker.hold("k"):
                pass


async def test_row_lock_timeout_is_a_lock_timeout(postgres_url: str) -> None:
    """Another worker holding the conversation past the timeout: LockTimeout (→ 503), no hang."""
    engine = make_async_engine(postgres_url)
    locker = RowLocker(make_sessionmaker(engine), timeout_seconds=0.2)
    async with locker.hold("web:row-timeout"):
        with pytest.raises(LockTimeout):
            async with locker.hold("web:row-timeout"):
                pass
    await engine.dispose()


class SlowInterpreter:
    """Records when each parse starts and ends; slow enough that overlap would show."""

    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []

    async def parse(self, text: str, *, today: date | None = None) -> dict[str, Any]:
        self.log.append(("start", text))
        await asyncio.sleep(0.1)
        self.log.append(("end", text))
        return {"text": text, "intent": {"name": "greet", "confidence": 1.0}, "entities": [], "intent_ranking": []}


async def test_dispatcher_runs_one_conversation_in_order(services) -> None:  # type: ignore[no-untyped-def]
    slow = SlowInterpreter()
    services.interpreter = slow
    dispatcher = Dispatcher(services, build_router(), build_hooks(services))
    same = [InboundEvent(channel="web", sender_id="lock-same", text=t) for t in ("one", "two")]
    await asyncio.gather(*(dispatcher.handle(e) for e in same))
    assert slow.log in (
        [("start", "one"), ("end", "one"), ("start", "two"), ("end", "two")],
        [("start", "two"), ("end", "two"), ("start", "one"), ("end", "one")],
    )
    state = await services.state.get("web:lock-same")
    assert state is not None and state.turn == 2  # neither turn overwrote the other's state

    slow.log.clear()
    others = [InboundEvent(channel="web", sender_id=f"lock-{i}", text=f"m{i}") for i in range(2)]
    await asyncio.gather(*(dispatcher.handle(e) for e in others))
    assert [kind for kind, _ in slow.log[:2]] == ["start", "start"]  # both began before either ended
