"""Fixtures for the resident profile tests: the demo residents imported under unique ids (so
tests never share suggestion history, also on one shared PostgreSQL), and a fixed clock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.engine.testing import Conversation
from bot.settings import Settings
from knowledge.residents_import import import_residents_file

DEMO = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "demo_residents.json"
TODAY = date(2026, 11, 27)


def tagged_demo(tag: str) -> dict[str, Any]:
    """The demo file with every id and chat id suffixed by `tag`."""
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    for household in data["households"]:
        household["id"] += f"-{tag}"
        for member in household["members"]:
            member["id"] += f"-{tag}"
    for consent in data["consents"]:
        consent["resident_id"] += f"-{tag}"
    links = []
    for link in data["links"]:
        link["resident_id"] += f"-{tag}"
        if link["channel"] == "web":
            link["user_id"] += f"-{tag}"
            links.append(link)
    data["links"] = links
    return data


def write_json(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def demo(settings: Settings, tmp_path: Path, tag: str) -> Callable[[str], str]:
    """Import the tagged demo residents; returns `rid("R001") -> "R001-<tag>"` (also for senders)."""
    import_residents_file(
        write_json(tmp_path / "demo.json", tagged_demo(tag)), settings.resolved_database_url, today=TODAY
    )
    return lambda base: f"{base}-{tag}"


@pytest.fixture
def fixed_today(services: Any) -> date:
    services.clock = lambda: datetime(TODAY.year, TODAY.month, TODAY.day, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    return TODAY


@pytest.fixture
def chat(dispatcher: Any, fixed_today: date) -> Callable[[str], Conversation]:
    """`chat(sender)`: a web conversation as `sender` (the demo links web senders like demo-hanako-<tag>)."""
    return lambda sender: Conversation(dispatcher, sender_id=sender, channel="web")
