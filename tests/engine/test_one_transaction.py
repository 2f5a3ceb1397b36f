"""A turn is one transaction: what a handler writes commits with the transcript and the state, or
not at all; handlers own no sessions; a crashed worker's hold on a conversation heals."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy.exc import OperationalError

from bot.store import raw
from tests.conftest import REPO
from tests.handlers.conftest import booking_day, give_contact, stored  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("booking_day")


async def _to_confirmation(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("1人掛けのソファを出したい")
    await bot.say("デモ区中央1-1-1")
    await bot.press("12月4日（金）")
    await give_contact(bot)
    assert "料金合計：800円" in bot.text


async def test_a_booking_whose_transcript_write_fails_leaves_no_booking(bot, services, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    await _to_confirmation(bot)

    real = raw.fetch_all

    async def failing_transcript(db, batch, **kwargs):  # type: ignore[no-untyped-def]
        if any(statement.sql.startswith("INSERT INTO messages") for statement, _ in batch):
            raise OperationalError("INSERT INTO messages", {}, Exception("disk I/O error"))
        return await real(db, batch, **kwargs)

    monkeypatch.setattr(raw, "fetch_all", failing_transcript)
    with pytest.raises(OperationalError):
        await bot.say("はい")
    assert not await stored(services, "bulky_waste")  # the reservation went with the transcript
    state = await services.state.get(f"web:{bot.sender_id}")
    assert state is not None and state.active_form is not None  # still at the confirmation
    assert state.active_form.awaiting_confirmation

    monkeypatch.undo()  # the resident (or the client) sends the same message again
    await bot.say("はい")
    assert "受付番号は G-20261204-0001" in bot.text
    assert [r.number for r in await stored(services, "bulky_waste")] == ["G-20261204-0001"]  # once


async def test_a_handler_that_fails_after_writing_leaves_state_and_records_as_before(
    bot, services, dispatcher, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The handler books and closes the form, then raises: its writes are rolled back, the state
    is the one stored before the turn (the first attempt was rolled back whole), the resident is told, and saying it
    again books once."""
    await _to_confirmation(bot)
    real = dispatcher.router.route

    async def books_then_fails(ctx):  # type: ignore[no-untyped-def]
        await real(ctx)
        ctx.state.data["half_done"] = {"by": "the failed handler"}
        raise RuntimeError("handler bug")

    monkeypatch.setattr(dispatcher.router, "route", books_then_fails)
    await bot.say("はい")
    assert "問題が起きています" in bot.text
    assert not await stored(services, "bulky_waste")
    state = await services.state.get(f"web:{bot.sender_id}")
    assert state is not None and state.active_form is not None and state.active_form.awaiting_confirmation
    assert "half_done" not in state.data

    monkeypatch.undo()
    await bot.say("はい")
    assert "受付番号は G-20261204-0001" in bot.text
    assert [r.number for r in await stored(services, "bulky_waste")] == ["G-20261204-0001"]


async def test_a_handler_that_fails_after_writing_on_the_driver_connection_leaves_nothing(
    bot, services, dispatcher, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Writes made on the turn's driver connection (bot.store.raw, the hot path's statements) go
    with a failed handler too: the whole first attempt is rolled back, not a savepoint that the
    driver connection's statements could run outside of."""
    from bot.engine.state import _insert
    from bot.store.models import Conversation

    async def writes_then_fails(ctx):  # type: ignore[no-untyped-def]
        dialect = ctx.db.get_bind().dialect
        statement = raw.compiled("test.other_conversation", dialect, lambda: _insert(dialect.name))
        now = services.now()
        values = {"id": "web:written-by-a-failed-handler", "channel": "web", "sender_id": "written-by-a-failed-handler"}
        await raw.fetch(ctx.db, statement, {**values, "status": "bot", "created_at": now, "updated_at": now})
        raise RuntimeError("handler bug")

    monkeypatch.setattr(dispatcher.router, "route", writes_then_fails)
    await bot.say("こんにちは")
    assert "問題が起きています" in bot.text
    async with services.sessionmaker() as session:
        assert await session.get(Conversation, "web:written-by-a-failed-handler") is None


def test_handlers_open_no_sessions_and_commit_nothing() -> None:
    """Handlers get the turn's session (`ctx.db`); a session or commit of their own would let a
    turn commit in parts."""
    offending: list[str] = []
    for path in sorted((REPO / "handlers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"sessionmaker", "commit", "begin"}:
                offending.append(f"{path.relative_to(REPO)}:{node.lineno} .{node.attr}")
    assert offending == []


HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from bot.store.db import make_async_engine, make_sessionmaker
    from bot.engine.state import begin_turn, claim

    async def main() -> None:
        engine = make_async_engine(sys.argv[1])
        async with make_sessionmaker(engine)() as db, db.begin():
            await begin_turn(db)
            await claim(db, conversation_id=sys.argv[2], channel="web", sender_id=sys.argv[2].split(":", 1)[1],
                        lock_timeout_seconds=5, ttl_seconds=60)
            print("held", flush=True)
            await asyncio.sleep(600)  # a turn that never ends: killed -9 below

    asyncio.run(main())
    """
)


async def test_a_worker_killed_mid_turn_releases_the_conversation(postgres_url: str, dispatcher) -> None:  # type: ignore[no-untyped-def]
    """A worker process holding a conversation's row dies (kill -9) mid-turn: the database ends its
    transaction with its connection, and the conversation answers again within 10 s."""
    from bot.engine.events import InboundEvent

    sender = "killed-worker"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, postgres_url, f"web:{sender}"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)  # type: ignore[union-attr]
        assert line.strip() == "held"
        proc.kill()
        proc.wait(10)
        replies = await asyncio.wait_for(
            dispatcher.handle(InboundEvent(channel="web", sender_id=sender, text="こんにちは")), 10
        )
        assert replies  # answered, not a lock timeout
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_message_that_waits_too_long_gets_503_with_retry_after(settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from server import create_app

    settings.lock_timeout_seconds = 0.3
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        services = client.app.state.services  # type: ignore[attr-defined]

        async def earlier_turn() -> None:  # an earlier message of the same conversation, still running
            async with services.locker.hold("web:busy-one"):
                await asyncio.sleep(1.5)

        running = client.portal.start_task_soon(earlier_turn)  # type: ignore[union-attr]
        res = client.post("/webhooks/rest/webhook", json={"sender": "busy-one", "message": "こんにちは"})
        assert res.status_code == 503
        assert res.headers["Retry-After"].isdigit()
        assert "busy" in res.json()["error"]
        running.result(5)
        assert (
            client.post("/webhooks/rest/webhook", json={"sender": "busy-one", "message": "こんにちは"}).status_code
            == 200
        )


async def test_the_transcript_shows_the_button_title_not_the_payload(bot, services) -> None:  # type: ignore[no-untyped-def]
    from bot.engine.transcript import list_messages

    await bot.say("粗大ごみを出したい")
    await bot.say("ソファ")
    title = bot.button_titles[0]
    await bot.press(title)
    async with services.sessionmaker() as db:
        inbound = [m for m in await list_messages(db, conversation_id=f"web:{bot.sender_id}") if m.direction == "in"]
    assert inbound[-1].text == title
    assert inbound[-1].payload is not None and inbound[-1].payload["payload"].startswith("/")
    assert inbound[0].text == "粗大ごみを出したい" and inbound[0].payload is None  # typed text stays as typed
