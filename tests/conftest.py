"""Shared fixtures.

Embedded backends always run. Where DATABASE_URL / REDIS_URL are set (CI sets both), the app
fixtures use those real servers and the contract suites run over both kinds.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from bot.settings import Settings
from bot.store.db import migrate

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


REQUIRE_SERVERS = os.environ.get("MADOGUCHI_REQUIRE_SERVERS") == "1"


def skip_unless_available(reason: str) -> None:
    """Skip a test that needs a missing server or browser; in CI (MADOGUCHI_REQUIRE_SERVERS=1)
    fail instead, so a green CI run really covered PostgreSQL, Redis and Chromium."""
    if REQUIRE_SERVERS:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def needs_path(path: Path) -> pytest.MarkDecorator:
    """Skip where a shared data set is missing, except in CI: there the test runs and fails loudly."""
    return pytest.mark.skipif(not path.exists() and not REQUIRE_SERVERS, reason=f"not found: {path}")


def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if not DATABASE_URL.startswith("postgresql"):
        skip_unless_available("DATABASE_URL does not point at PostgreSQL")
    reset_postgres(DATABASE_URL)
    migrate(DATABASE_URL)
    return DATABASE_URL


@pytest.fixture(scope="session")
def nlu_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from nlu.engine import load_or_train

    return load_or_train(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def interpreter(nlu_engine):  # type: ignore[no-untyped-def]
    from nlu.interpreter import EmbeddedInterpreter

    return EmbeddedInterpreter(nlu_engine)


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings for one test: the real servers when configured, else embedded defaults.

    Production rules by default (DEMO_MODE off); a test of the demo says so with
    `@pytest.mark.demo_mode`, which sets `demo_mode=True`. With PostgreSQL (production-like, where
    a start without SECRET_KEY is refused) a secret is passed; SQLite generates its own file."""
    url = ""
    secret = ""
    if DATABASE_URL:
        url = request.getfixturevalue("postgres_url")
        secret = f"test-secret-{uuid.uuid4().hex}"
    else:
        url = f"sqlite:///{tmp_path / 'test.db'}"
        migrate(url)
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        redis_url=REDIS_URL,
        state_key_prefix=f"madoguchi-test-{uuid.uuid4().hex[:8]}:",
        demo_mode=request.node.get_closest_marker("demo_mode") is not None,
        secret_key=secret,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def app(settings: Settings, interpreter) -> FastAPI:  # type: ignore[no-untyped-def]
    from server import create_app

    return create_app(settings, interpreter=interpreter)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
async def services(settings: Settings, interpreter) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    from bot.engine.identity import make_resolver
    from bot.engine.services import build_services
    from knowledge.loader import load_knowledge

    svc = build_services(settings, interpreter)
    svc.resolve_resident = make_resolver(svc.sessionmaker, demo_mode=settings.demo_mode)
    await svc.hub.start()
    load_knowledge(svc)
    yield svc
    await svc.close()


@pytest.fixture
def dispatcher(services):  # type: ignore[no-untyped-def]
    from bot.engine.assembly import build_dispatcher

    return build_dispatcher(services)


@pytest.fixture
def bot(dispatcher):  # type: ignore[no-untyped-def]
    """Say a message, read the replies: `await bot.say("住民票がほしい")`, then `bot.text`."""
    from bot.engine.testing import Conversation

    return Conversation(dispatcher, sender_id=f"t-{uuid.uuid4().hex[:10]}")


FUZZ_LINE_SECRET = "fuzz-line-channel-secret"


def make_fuzz_app(staff_token: str):  # type: ignore[no-untyped-def]
    """An app for the OpenAPI fuzz test, built at collection time (schemathesis needs it then and
    runs its lifespan itself); `started()` makes sure its tables exist on the first test."""
    import tempfile

    from server import create_app

    data_dir = Path(tempfile.mkdtemp(prefix="madoguchi-fuzz-"))
    url = DATABASE_URL
    if not url:
        url = f"sqlite:///{data_dir / 'test.db'}"
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        redis_url=REDIS_URL,
        staff_token=staff_token,
        secret_key="fuzz-test-secret-key-0123456789",
        line_channel_secret=FUZZ_LINE_SECRET,  # /callback is fuzzed with signed bodies, as LINE sends them
        line_channel_access_token="fuzz-line-token",
        line_api_base_url="http://127.0.0.1:9",  # nothing listens: replies fail fast, in the background
        state_key_prefix=f"madoguchi-fuzz-{uuid.uuid4().hex[:8]}:",
        _env_file=None,  # type: ignore[call-arg]
    )
    migrate(url)  # schemathesis runs the app's lifespan (once, in its own loop) when it reads the schema
    app = create_app(settings)
    done: list[bool] = []

    def started() -> None:
        """Tables are there (another test may have reset the PostgreSQL database since)."""
        if not done:
            migrate(url)
            done.append(True)

    return app, started
