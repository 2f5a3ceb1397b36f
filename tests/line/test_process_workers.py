"""`WORKERS=2 python server.py` with LINE on PostgreSQL + Redis: each worker acknowledges and hands
its events to a processing child of its own (the "auto" default there). Webhooks spread over both
workers; one child is killed mid-run; every event is processed exactly once, none is left pending,
and the killed child is replaced. Skipped (failed in CI) without PostgreSQL or Redis."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, delete, func, select

from bot.channels.line_outbox import OutboxRow, PendingEvent
from bot.store.models import Message
from tests.conftest import REDIS_URL, REPO, skip_unless_available
from tests.line import webhooks as wh
from tests.line.standin import StandIn
from tests.live import free_port


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out += [int(k) for k in (task / "children").read_text().split()]
    return out


def _line_children(server: int) -> dict[int, int]:
    """worker pid -> its LINE processing child's pid."""
    found = {}
    for worker in _children(server):
        for kid in _children(worker):
            try:
                if b"bot.channels.line_child" in Path(f"/proc/{kid}/cmdline").read_bytes():
                    found[worker] = kid
            except OSError:
                pass
    return found


@pytest.fixture
def two_workers(
    tmp_path: Path, postgres_url: str, standin: StandIn, nlu_engine: Any, tmp_path_factory: Any
) -> Iterator[tuple[str, int]]:
    if not REDIS_URL:
        skip_unless_available("REDIS_URL is not set")
    models = sorted(p for p in tmp_path_factory.getbasetemp().glob("models*") if any(p.iterdir()))[0]
    data = tmp_path / "data"
    data.mkdir()
    (data / "models").symlink_to(models, target_is_directory=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        DATABASE_URL=postgres_url,
        REDIS_URL=REDIS_URL,
        WORKERS="2",
        WORKER_HEADER="1",
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data),
        SECRET_KEY=f"test-secret-{uuid.uuid4().hex}",
        STATE_KEY_PREFIX=f"madoguchi-lw-{uuid.uuid4().hex[:8]}:",
        LOG_LEVEL="WARNING",
        LINE_CHANNEL_SECRET=wh.SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=standin.access_token,
        LINE_API_BASE_URL=standin.url,
    )
    server = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(_line_children(server.pid)) < 2 or not _ready(port):
            assert server.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "two workers with a LINE child each did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", server.pid
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the group: supervisor, workers and their children
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _post(base: str, events: list[dict[str, Any]]) -> set[str]:
    workers = set()
    for event in events:
        raw = wh.body(event)
        headers = {"Content-Type": "application/json", "X-Line-Signature": wh.sign(raw)}
        for attempt in (1, 2):  # no answer at all: sent again, as LINE redelivers (still once each)
            try:
                with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection: any worker
                    res = fresh.post("/callback", content=raw, headers=headers)
                break
            except httpx.TransportError:
                if attempt == 2:
                    raise
        assert res.status_code == 200, res.text
        workers.add(res.headers["x-madoguchi-worker"])
    return workers


def test_two_workers_with_a_child_each_process_every_event_once(
    two_workers: tuple[str, int], postgres_url: str
) -> None:
    base, server = two_workers
    users = [f"U{uuid.uuid4().hex}" for _ in range(6)]
    first = [wh.text(f"こんにちは {i}", user=u) for i in range(5) for u in users]
    seen = _post(base, first[:15])
    before = _line_children(server)
    victim_worker, victim = next(iter(before.items()))
    os.kill(victim, signal.SIGKILL)  # mid-run: its worker restarts it; its claims pass to the successor
    seen |= _post(base, first[15:])
    while len(seen) < 2 and len(first) < 130:  # the kernel spreads connections unevenly under load
        first.append(wh.text("こんにちは", user=users[len(first) % len(users)]))
        seen |= _post(base, first[-1:])
    assert len(seen) == 2  # both workers acknowledged
    keys = [e["webhookEventId"] for e in first]
    engine = create_engine(postgres_url)
    deadline = time.monotonic() + 120
    try:
        with engine.connect() as conn:
            while True:
                counts = dict(
                    conn.execute(
                        select(Message.external_id, func.count())
                        .where(Message.channel == "line", Message.direction == "in", Message.external_id.in_(keys))
                        .group_by(Message.external_id)
                    ).all()
                )
                pending = conn.execute(
                    select(func.count()).select_from(PendingEvent).where(PendingEvent.webhook_event_id.in_(keys))
                ).scalar_one()
                unsent = conn.execute(
                    select(func.count())
                    .select_from(OutboxRow)
                    .where(OutboxRow.recipient_id.in_(users), OutboxRow.status == "pending")
                ).scalar_one()
                if (len(counts) == len(keys) and not pending and not unsent) or time.monotonic() > deadline:
                    break
                conn.rollback()
                time.sleep(0.3)
    finally:
        # the shared database outlives this server: rows it left (a failed run, a reply still
        # leased by a killed process) must not reach the next tests' processors and outboxes
        with engine.begin() as conn:
            conn.execute(delete(OutboxRow).where(OutboxRow.recipient_id.in_(users)))
            conn.execute(delete(PendingEvent).where(PendingEvent.webhook_event_id.in_(keys)))
        engine.dispose()
    assert unsent == 0  # every reply sent before the server stops
    assert len(counts) == len(keys) and set(counts.values()) == {1}  # every event once, none twice
    assert pending == 0
    after = _line_children(server)
    assert victim_worker in after and after[victim_worker] != victim  # replaced
