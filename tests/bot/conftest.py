"""Fixtures shared by tests/bot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import REDIS_URL
from tests.servers import throwaway_redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The configured Redis, else a throwaway one: the hub's Redis path runs in both CI passes."""
    if REDIS_URL:
        yield REDIS_URL
        return
    with throwaway_redis() as server:
        yield server.url
