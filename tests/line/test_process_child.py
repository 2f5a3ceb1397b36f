"""LINE processing in a child process (`LineTuning.processing = "process"`, the default on
PostgreSQL when the app builds its own NLU): each event once, a sender's events in order, a child
killed mid-run restarted with nothing lost or doubled, shutdown drains; claims on pending events
(both backends); and which mode "auto" picks."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func, select

from bot.channels.line import processing_mode
from bot.channels.line_claims import Claims, Liveness, liveness_key
from bot.channels.line_outbox import LineTuning, PendingEvent
from bot.settings import Settings
from bot.store.models import Message
from tests.line import webhooks as wh
from tests.line.standin import StandIn


@pytest.fixture
def models(nlu_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's trained NLU model (conftest's `nlu_engine`), for a child that loads its own."""
    found = sorted(p for p in tmp_path_factory.getbasetemp().glob("models*") if any(p.iterdir()))
    assert found, "the session's NLU model directory was not found"
    return found[0]


@pytest.fixture
def process_app(app: FastAPI, settings: Settings, tuning: LineTuning, models: Path, postgres_url: str) -> FastAPI:
    """The app with processing in a child (PostgreSQL only, like production)."""
    (settings.data_dir / "models").symlink_to(models, target_is_directory=True)
    tuning.processing = "process"
    tuning.restart_first_seconds = 0.2
    return app


@pytest.fixture
def process_client(process_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(process_app) as client:
        yield client


def _inbound(client: TestClient, users: list[str]) -> dict[str, list[str]]:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> dict[str, list[str]]:
        query = (
            select(Message.conversation_id, Message.text)
            .where(Message.conversation_id.in_([f"line:{u}" for u in users]), Message.direction == "in")
            .order_by(Message.id)
        )
        out: dict[str, list[str]] = {u: [] for u in users}
        async with services.sessionmaker() as s:
            for conversation, text in (await s.execute(query)).all():
                out[conversation.removeprefix("line:")].append(text)
        return out

    return client.portal.call(read)  # type: ignore[union-attr]


def _pending(client: TestClient, keys: list[str]) -> int:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def read() -> int:
        query = select(func.count()).select_from(PendingEvent).where(PendingEvent.webhook_event_id.in_(keys))
        async with services.sessionmaker() as s:
            return int(await s.scalar(query) or 0)

    return client.portal.call(read)  # type: ignore[union-attr]


def _fire(client: TestClient, users: list[str], rounds: int, start: int = 0) -> tuple[dict[str, list[str]], list[str]]:
    sent: dict[str, list[str]] = {u: [] for u in users}
    keys: list[str] = []
    for i in range(start, start + rounds):
        for user in users:
            event = wh.text(f"こんにちは {i}", user=user)
            assert wh.post(client, event).status_code == 200
            sent[user].append(event["message"]["text"])
            keys.append(event["webhookEventId"])
    return sent, keys


def test_events_are_processed_once_each_in_order_by_the_child(process_client: TestClient, standin: StandIn) -> None:
    channel = process_client.app.state.line  # type: ignore[attr-defined]
    assert channel.mode == "process" and channel.child.pid not in (None, os.getpid())
    users = ["U" + os.urandom(16).hex() for _ in range(3)]
    sent, keys = _fire(process_client, users, rounds=4)
    again = wh.text("こんにちは 0", user=users[0], webhook_event_id=keys[0])  # LINE's redelivery
    assert wh.post(process_client, again).status_code == 200
    wh.drain(process_client, timeout=60)
    assert _inbound(process_client, users) == sent
    assert _pending(process_client, keys) == 0
    assert len(standin.delivered) == len(keys)


def test_a_child_killed_mid_run_is_restarted_and_nothing_is_lost_or_doubled(
    process_client: TestClient, standin: StandIn
) -> None:
    channel = process_client.app.state.line  # type: ignore[attr-defined]
    child = channel.child
    users = ["U" + os.urandom(16).hex() for _ in range(4)]
    sent, keys = _fire(process_client, users, rounds=10)
    deadline = time.monotonic() + 30
    while not any(_inbound(process_client, users).values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    first = child.pid
    os.kill(first, signal.SIGKILL)  # mid-run: some events processed, most not
    done_before = sum(len(v) for v in _inbound(process_client, users).values())
    more, more_keys = _fire(process_client, users, rounds=3, start=10)  # while it is down or restarting
    wh.drain(process_client, timeout=90)
    assert child.starts == 2 and child.pid != first
    assert 0 < done_before < len(keys)
    assert _inbound(process_client, users) == {u: sent[u] + more[u] for u in users}
    assert _pending(process_client, keys + more_keys) == 0


def test_shutdown_drains_what_the_child_has_queued(process_app: FastAPI, standin: StandIn) -> None:
    users = ["U" + os.urandom(16).hex() for _ in range(3)]
    with TestClient(process_app) as client:
        child = client.app.state.line.child  # type: ignore[attr-defined]
        sent, keys = _fire(client, users, rounds=5)
    assert child._proc is not None and child._proc.returncode == 0  # noqa: SLF001 - it ended by itself
    with TestClient(process_app) as client:  # nothing left for the next start
        assert _pending(client, keys) == 0
        assert _inbound(client, users) == sent


def _line_turns(client: TestClient) -> tuple[float, str]:
    body = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(body)}  # parses: one family per name
    turns = families["madoguchi_turns"]
    return sum(s.value for s in turns.samples if s.name.endswith("_total") and s.labels["channel"] == "line"), body


def test_with_one_worker_the_childs_line_turns_reach_metrics(process_client: TestClient, standin: StandIn) -> None:
    child = process_client.app.state.line.child  # type: ignore[attr-defined]
    assert child.metrics_dir is not None and child.metrics_dir.is_dir()  # no WORKERS>1 directory here
    before, _ = _line_turns(process_client)
    users = ["U" + os.urandom(16).hex() for _ in range(2)]
    _, keys = _fire(process_client, users, rounds=2)
    wh.drain(process_client, timeout=60)
    after, body = _line_turns(process_client)
    assert after - before == len(keys)  # the child's turns, summed with this process's figures
    assert body.count("# TYPE madoguchi_turn_seconds histogram") == 1
    assert not any(u in body for u in users)  # no sender in a label


def test_auto_is_a_child_on_postgresql_with_the_apps_own_nlu_else_a_thread() -> None:
    pg = Settings(database_url="postgresql+psycopg://x@h/db", _env_file=None)  # type: ignore[call-arg]
    lite = Settings(database_url="sqlite:///x.db", _env_file=None)  # type: ignore[call-arg]
    auto = LineTuning()
    assert processing_mode(auto, pg, own_interpreter=True) == "process"
    assert processing_mode(auto, pg, own_interpreter=False) == "thread"  # a test's interpreter
    assert processing_mode(auto, lite, own_interpreter=True) == "thread"  # one SQLite writer
    assert processing_mode(LineTuning(processing="inline"), pg, own_interpreter=True) == "inline"
    chosen = pg.model_copy(update={"line_processing": "thread"})
    assert processing_mode(auto, chosen, own_interpreter=True) == "thread"


# -- claims ------------------------------------------------------------------------------------------


def _claims(services: Any, owner: str, clock: Any = None) -> Claims:
    kw = {"clock": clock} if clock else {}
    return Claims(services.engine, owner, lease=30, orphan_after=10, gate=services.turn_gate, **kw)


async def _pending_rows(services: Any, count: int) -> list[str]:
    now = datetime.now(UTC)
    keys = [f"claim-{os.urandom(6).hex()}" for _ in range(count)]
    async with services.sessionmaker() as session, session.begin():
        for i, key in enumerate(keys):
            raw = {"webhookEventId": key, "n": i}
            session.add(PendingEvent(webhook_event_id=key, event=raw, received_at=now + timedelta(milliseconds=i)))
    return keys


@pytest.fixture
async def fake_rows(services: Any) -> Any:
    """Pending rows made by a test (not real events): deleted after it, so that no later test's
    processor resumes them from the shared database."""
    made: list[str] = []

    async def make(count: int) -> list[str]:
        keys = await _pending_rows(services, count)
        made.extend(keys)
        return keys

    yield make
    async with services.sessionmaker() as session, session.begin():
        await session.execute(delete(PendingEvent).where(PendingEvent.webhook_event_id.in_(made)))


async def test_a_claimed_event_is_nobody_elses_until_released_or_its_lease_ends(
    services: Any, postgres_url: str, fake_rows: Any
) -> None:
    a, b = _claims(services, "worker-a"), _claims(services, "worker-b")
    lives = [Liveness(postgres_url, "worker-a"), Liveness(postgres_url, "worker-b")]
    for alive in lives:  # both processes run (a dead owner's claims are taken at once: below)
        await alive.hold()
    keys = await fake_rows(3)
    assert await a.claim(keys[:2]) == set(keys[:2])
    assert await b.claim(keys) == {keys[2]}  # what a holds is not b's
    assert await a.claim(keys[:1]) == {keys[0]}  # a's own claim again: still a's
    assert [k for k, _ in await b.claim_orphans(at_start=False) if k in keys] == []  # leased, not orphans
    later = _claims(services, "worker-c", clock=lambda: datetime.now(UTC) + timedelta(seconds=31))  # a's lease ended
    assert [k for k, _ in await later.claim_orphans(at_start=False) if k in keys] == keys
    await later.release()
    assert [k for k, _ in await b.claim_orphans(at_start=True) if k in keys] == keys  # oldest first
    await b.release()
    for alive in lives:
        await alive.close()


async def test_the_embedded_mode_has_no_claims(services: Any, fake_rows: Any) -> None:
    """SQLite: one process, one processor; the resume queues every pending row, as before claims."""
    if services.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    a, b = _claims(services, "worker-a"), _claims(services, "worker-b")
    keys = await fake_rows(2)
    assert await a.claim(keys) == set(keys) and await b.claim(keys) == set(keys)
    assert [k for k, _ in await b.claim_orphans(at_start=True)] == keys
    assert await b.claim_orphans(at_start=False) == []


async def test_the_claims_of_a_process_that_died_are_taken_at_once(
    services: Any, postgres_url: str, fake_rows: Any
) -> None:
    """A worker killed outright (its parent and child gone) holds no liveness lock any more: its
    rows are the next sweep's without waiting for their lease."""
    gone, survivor = _claims(services, "worker-gone"), _claims(services, "worker-alive")
    alive = Liveness(postgres_url, "worker-gone")
    await alive.hold()
    keys = await fake_rows(2)
    assert await gone.claim(keys) == set(keys)
    assert [k for k, _ in await survivor.claim_orphans(at_start=False) if k in keys] == []  # it lives
    await alive.close()  # as when its process dies: PostgreSQL ends its session and the lock
    assert [k for k, _ in await survivor.claim_orphans(at_start=False) if k in keys] == keys
    await survivor.release()


async def test_a_liveness_lock_lost_with_its_connection_is_taken_again(
    services: Any, postgres_url: str, fake_rows: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The liveness connection is terminated (a PostgreSQL restart, a reaper, a network cut): the
    lock goes with it, so the owner looks dead to others. The watcher reconnects and takes the lock
    again, and the owner's claimed rows are nobody else's orphans any more."""
    import psycopg

    monkeypatch.setattr(Liveness, "CHECK_SECONDS", 0.1)
    owner, survivor = _claims(services, "worker-reconnects"), _claims(services, "worker-other")
    alive = Liveness(postgres_url, "worker-reconnects")
    await alive.hold()
    try:
        keys = await fake_rows(2)
        assert await owner.claim(keys) == set(keys)
        first = alive.backend_pid
        async with await psycopg.AsyncConnection.connect(alive.conninfo, autocommit=True) as killer:
            await killer.execute("SELECT pg_terminate_backend(%s)", (first,))
        deadline = asyncio.get_running_loop().time() + 15
        while alive.backend_pid == first and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        assert alive.backend_pid != first  # a new connection holds the lock
        async with await psycopg.AsyncConnection.connect(alive.conninfo, autocommit=True) as other:
            cursor = await other.execute("SELECT pg_try_advisory_lock(%s)", (liveness_key("worker-reconnects"),))
            assert (await cursor.fetchone()) == (False,)  # held by the owner again
        assert [k for k, _ in await survivor.claim_orphans(at_start=False) if k in keys] == []  # it lives
    finally:
        await alive.close()
        await owner.release()
