"""Live delivery when a WebSocket loop is cancelled (a socket closing under TestClient, a server
shutting down): the loop ends, and the event loop is left nothing to wait on."""

from __future__ import annotations

import asyncio

import anyio
import pytest
from sqlalchemy import text

from bot.channels import live


class _IdleSocket:
    """A WebSocket stand-in whose client never says anything and never leaves."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def receive(self) -> dict[str, object]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send_json(self, data: dict[str, object]) -> None:
        self.sent.append(data)


@pytest.mark.parametrize("how", ["anyio scope", "native"])
def test_a_loop_cancelled_mid_read_ends_and_leaves_no_task_behind(tmp_path, how: str) -> None:  # type: ignore[no-untyped-def]
    """A WebSocket loop cancelled while its transcript read is in flight (TestClient closing a
    socket, a server shutting down) must end, and leave no task the event loop waits on at close.
    A read interrupted in the pool's pre-ping made SQLAlchemy terminate the aiosqlite connection,
    which leaves a shielded close task that never ends (aiosqlite >= 0.22): asyncio.run's
    shutdown then waited forever (the hang that reverted the first merge)."""
    from bot.engine.hub import Wakeup
    from bot.store.db import make_async_engine, make_sessionmaker

    async def scenario() -> list[str]:
        engine = make_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'cancel.db'}")
        sessionmaker = make_sessionmaker(engine)
        reading = asyncio.Event()

        async def fetch(after: int) -> list[dict[str, object]]:
            async with sessionmaker() as s:
                reading.set()  # the caller is cancelled at its next step: the checkout's pre-ping
                await s.execute(text("SELECT 1"))
            return []

        async with sessionmaker() as s:  # a pooled connection: the next checkout pings it
            await s.execute(text("SELECT 1"))

        async def run_pump() -> None:
            await live.pump(_IdleSocket(), Wakeup(), fetch, 0, poll_seconds=600)  # type: ignore[arg-type]

        if how == "native":
            task = asyncio.ensure_future(run_pump())
            await reading.wait()
            task.cancel()
            await asyncio.wait({task}, timeout=15)
            assert task.done()
        else:
            with anyio.fail_after(15):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(run_pump)
                    await reading.wait()
                    tg.cancel_scope.cancel()
        await engine.dispose()
        await asyncio.sleep(0.2)
        current = asyncio.current_task()
        return [repr(t) for t in asyncio.all_tasks() if t is not current and not t.done()]

    loop = asyncio.new_event_loop()
    try:
        left = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert left == []
