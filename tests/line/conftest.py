"""LINE fixtures: the app with a channel secret, its API pointed at a local stand-in of LINE."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from bot.channels.line_outbox import LineTuning
from bot.settings import Settings
from tests.line import webhooks
from tests.line.standin import StandIn
from tests.line.webhooks import SECRET


@pytest.fixture(autouse=True)
def fresh_line_ids() -> None:
    webhooks.fresh_ids()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, standin: StandIn) -> Settings:
    return settings.model_copy(
        update={
            "line_channel_secret": SECRET,
            "line_channel_access_token": standin.access_token,
            "line_api_base_url": standin.url,
        }
    )


@pytest.fixture
def tuning() -> LineTuning:
    return LineTuning(
        request_timeout=0.5,
        backoff_base=0.05,
        backoff_cap=0.2,
        lease_seconds=5.0,
        poll_seconds=0.2,
        loading_after=1.0,
        drain_seconds=5.0,
    )


@pytest.fixture
def app(app: FastAPI, tuning: LineTuning) -> FastAPI:
    app.state.line_tuning = tuning
    return app
