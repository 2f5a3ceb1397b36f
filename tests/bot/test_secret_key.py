"""The server secret: generated once (0600) and reused in the embedded mode, required in production."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.secret_key import ConfigurationError, resolve_secret_key
from bot.settings import Settings
from tests.conftest import REPO

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1"


def embedded(data_dir: Path, **kw: object) -> Settings:
    """Settings from these arguments alone: the environment (DATABASE_URL in CI) must not decide."""
    base: dict[str, object] = {"database_url": "", "redis_url": "", "secret_key": "", "demo_mode": False}
    return Settings(data_dir=data_dir, _env_file=None, **(base | kw))  # type: ignore[call-arg, arg-type]


def test_embedded_mode_generates_the_secret_once_with_mode_0600_and_reuses_it(tmp_path: Path) -> None:
    first = resolve_secret_key(embedded(tmp_path / "var"))
    path = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert resolve_secret_key(embedded(tmp_path / "var")) == first  # a later start
    assert resolve_secret_key(embedded(tmp_path / "elsewhere")) != first
    assert not [p for p in (tmp_path / "var").iterdir() if p.name != "secret_key"]  # no temp files left


def test_a_code_issued_before_a_restart_still_links(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    from bot.store.db import migrate
    from knowledge.residents_import import import_residents_file
    from server import create_app
    from tests.residents.conftest import DEMO, TODAY

    settings = embedded(tmp_path, staff_token="staff-secret")
    migrate(settings.resolved_database_url)
    import_residents_file(DEMO, settings.resolved_database_url, today=TODAY)
    headers = {"Authorization": "Bearer staff-secret"}
    with TestClient(create_app(settings, interpreter=interpreter)) as client:
        res = client.post("/staff/api/residents/R001/link-code", json={"staff_id": "s-1"}, headers=headers)
        code = res.json()["code"]
    with TestClient(create_app(embedded(tmp_path), interpreter=interpreter)) as client:  # restarted
        sender = client.post("/webhooks/rest/session").json()["sender"]
        res = client.post("/webhooks/rest/webhook", json={"sender": sender, "message": f"連携コード {code}"})
        assert "連携が完了しました" in "".join(m["text"] for m in res.json())


def test_production_without_secret_key_is_refused(tmp_path: Path, interpreter) -> None:  # type: ignore[no-untyped-def]
    from server import create_app

    production = embedded(tmp_path, database_url=POSTGRES)
    assert production.is_production
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        resolve_secret_key(production)
    with (
        pytest.raises(ConfigurationError, match="SECRET_KEY"),
        TestClient(create_app(production, interpreter=interpreter)),
    ):
        pass
    assert not (tmp_path / "secret_key").exists()  # nothing generated behind the operator's back


def test_python_server_py_refuses_to_start_in_production_without_secret_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEMO_MODE")}
    env.update({"DATABASE_URL": POSTGRES, "DATA_DIR": str(tmp_path), "PORT": "1"})
    done = subprocess.run(
        [sys.executable, str(REPO / "server.py")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "SECRET_KEY" in done.stderr


def test_a_secret_key_or_demo_mode_lets_a_server_database_start(tmp_path: Path) -> None:
    assert resolve_secret_key(embedded(tmp_path, database_url=POSTGRES, secret_key="x" * 32)) == b"x" * 32
    demo = embedded(tmp_path, database_url=POSTGRES, demo_mode=True)
    assert not demo.is_production and resolve_secret_key(demo)  # the demo keeps its generated file


def test_a_short_secret_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        resolve_secret_key(embedded(tmp_path, secret_key="short"))


def test_an_explicit_sqlite_url_is_embedded(tmp_path: Path) -> None:
    settings = embedded(tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    assert not settings.is_production and resolve_secret_key(settings)
