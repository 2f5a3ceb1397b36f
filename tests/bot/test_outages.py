"""A database or Redis that is down or goes away mid-conversation: a clear 503, nothing lost."""

from __future__ import annotations

import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from redis.asyncio import Redis

from bot.engine.hub import RedisHub
from bot.settings import Settings
from server import create_app

URL = "/webhooks/rest/webhook"
DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_redis_down_is_no_outage_and_readyz_says_degraded(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    """Redis only wakes live connections: with it down, turns go on (state is in SQL)."""
    from bot.store.db import migrate

    url = f"sqlite:///{tmp_path / 'o.db'}"
    migrate(url)
    settings = Settings(data_dir=tmp_path, database_url=url, redis_url=DEAD_REDIS, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        res = client.post(URL, json={"sender": "s1", "message": "粗大ごみを出したい"})
        assert res.status_code == 200
        res = client.post(URL, json={"sender": "s1", "message": "やめる"})
        assert res.status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["live"]["redis"].startswith("degraded")


def test_database_down_answers_503(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=1",
        secret_key="test-secret-for-an-unreachable-database",
        _env_file=None,  # type: ignore[call-arg]
    )
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        res = client.post(URL, json={"sender": "s2", "message": "こんにちは"})
        assert res.status_code == 503
        assert "database" in res.json()["error"]
        assert client.get("/readyz").json()["checks"]["database"].startswith("error")
        assert client.get("/healthz").status_code == 200


def test_redis_going_away_mid_conversation_loses_nothing(client: TestClient) -> None:
    who = f"web-{uuid.uuid4().hex[:10]}"
    services = client.app.state.services  # type: ignore[attr-defined]
    assert client.post(URL, json={"sender": who, "message": "/request_human"}).status_code == 200

    async def state_status() -> str:
        state = await services.state.get(f"web:{who}")
        return state.status

    assert client.portal.call(state_status) == "pending_handoff"  # type: ignore[union-attr]
    working = services.hub
    dead = Redis.from_url(DEAD_REDIS, socket_connect_timeout=0.5)
    services.hub = RedisHub(dead, prefix="x:")  # every publish now fails
    res = client.post(URL, json={"sender": who, "message": "まだですか"})
    assert res.status_code == 200  # the turn does not depend on Redis
    assert client.portal.call(state_status) == "pending_handoff"  # type: ignore[union-attr]
    services.hub = working
    res = client.post(URL, json={"sender": who, "message": "やめる"})
    assert res.status_code == 200
    assert client.portal.call(state_status) == "bot"  # type: ignore[union-attr]
    client.portal.call(dead.aclose)  # type: ignore[union-attr]


def test_embedded_mode_brings_its_schema_up_to_date_on_start(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "fresh", database_url="", _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        assert client.get("/readyz").json()["checks"]["database"] == "ok"
        assert client.post(URL, json={"sender": "s3", "message": "こんにちは"}).status_code == 200


def test_readyz_names_a_missing_schema(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"  # an explicit DATABASE_URL is never migrated by the app
    settings = Settings(data_dir=tmp_path, database_url=url, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "python -m bot.migrate" in ready.json()["checks"]["database"]
