"""Faults against real servers the test starts itself: Redis killed and restarted empty under
load, PostgreSQL stopped for 5 s. Nothing is lost, nothing is stored twice, the errors are clean."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.settings import Settings
from bot.store.db import migrate
from bot.store.models import Message
from server import create_app
from tests.servers import throwaway_postgres, throwaway_redis

URL = "/webhooks/rest/webhook"


def _inbound_count(client: TestClient, senders: list[str]) -> int:
    services = client.app.state.services  # type: ignore[attr-defined]

    async def count() -> int:
        async with services.sessionmaker() as db:
            ids = [f"web:{s}" for s in senders]
            query = select(func.count()).where(Message.conversation_id.in_(ids), Message.direction == "in")
            return int(await db.scalar(query) or 0)

    return client.portal.call(count)  # type: ignore[union-attr]


def test_redis_killed_and_restarted_empty_mid_load_loses_no_form(settings: Settings, interpreter) -> None:  # type: ignore[no-untyped-def]
    senders = [f"fault-{uuid.uuid4().hex[:8]}" for _ in range(16)]
    accepted = 0
    with throwaway_redis() as redis:
        app = create_app(settings.model_copy(update={"redis_url": redis.url}), interpreter=interpreter)
        with TestClient(app) as client:

            def say(sender: str, text: str) -> str:
                nonlocal accepted
                res = client.post(URL, json={"sender": sender, "message": text})
                assert res.status_code == 200, res.text
                accepted += 1
                return "\n".join(m.get("text", "") for m in res.json())

            for sender in senders:
                assert "町名と番地" in say(sender, "1人掛けのソファを出したい")
            for i, sender in enumerate(senders):
                if i == 5:
                    redis.kill()  # mid-load: some conversations answer while Redis is gone
                if i == 10:
                    redis.start()  # back, empty
                assert "収集日" in say(sender, "デモ区中央1-1-1"), sender  # every form goes on
            assert _inbound_count(client, senders) == accepted  # each accepted message stored once


def test_postgres_stopped_for_five_seconds_gives_clean_503s_and_stores_nothing_half(tmp_path, interpreter) -> None:  # type: ignore[no-untyped-def]
    with throwaway_postgres() as pg:
        migrate(pg.url)
        settings = Settings(data_dir=tmp_path, database_url=pg.url, secret_key="fault-test-secret", _env_file=None)  # type: ignore[call-arg]
        sender = f"pg-fault-{uuid.uuid4().hex[:8]}"
        with TestClient(create_app(settings, interpreter=interpreter)) as client:
            first = client.post(URL, json={"sender": sender, "message": "1人掛けのソファを出したい"})
            assert first.status_code == 200
            pg.stop()
            stopped = time.monotonic()
            for _ in range(3):
                res = client.post(URL, json={"sender": sender, "message": "デモ区中央1-1-1"})
                assert res.status_code == 503
                assert "database" in res.json()["error"]
            assert client.get("/readyz").status_code == 503
            time.sleep(max(0.0, 5 - (time.monotonic() - stopped)))
            pg.start()
            res = client.post(URL, json={"sender": sender, "message": "デモ区中央1-1-1"})
            assert res.status_code == 200
            assert "収集日" in "\n".join(m.get("text", "") for m in res.json())  # the form went on
            assert _inbound_count(client, [sender]) == 2  # the refused messages left nothing behind
