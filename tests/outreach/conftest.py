"""Outreach fixtures: the LINE stand-in, a resident household imported under unique ids, and a
`now` in a year of its own (so tests never see each other's residents, also on one PostgreSQL)."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.settings import Settings
from knowledge.residents_import import import_residents_file
from tests.line.standin import StandIn

JST = ZoneInfo("Asia/Tokyo")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    server = StandIn().start()
    yield server
    server.stop()


@pytest.fixture
def line_settings(settings: Settings, standin: StandIn) -> Settings:
    return settings.model_copy(
        update={"line_channel_access_token": standin.access_token, "line_api_base_url": standin.url}
    )


@pytest.fixture
def now() -> datetime:
    """10:00 Japan time on a day of a year no other test uses."""
    year = random.Random(uuid.uuid4().int).randint(2100, 9000)
    return datetime(year, 6, 10, 10, 0, tzinfo=JST)


@pytest.fixture
def household(settings: Settings, now: datetime, tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Import a household whose mother's care certification ends 30 days after `now`; returns
    the ids: resident (the linked head), line (their LINE userId), web (their web sender)."""

    def make(
        *,
        consent: bool = True,
        line: bool = True,
        web: bool = False,
        dead: bool = False,
        address: str = "デモ区中央1-1-1",
    ) -> dict[str, str]:
        tag = uuid.uuid4().hex[:10]
        ids = {"resident": f"R-{tag}", "line": "U" + uuid.uuid4().hex, "web": f"w-{tag}"}
        head: dict[str, Any] = {
            "id": ids["resident"],
            "name": "試験 花子",
            "birth_date": "1990-04-01",
            "relation_to_head": "head",
        }
        if dead:
            head["death_date"] = "2020-01-01"
        mother = {
            "id": f"M-{tag}",
            "name": "試験 トメ",
            "birth_date": "1944-05-05",
            "relation_to_head": "mother",
            "care_level": "要介護1",
            "care_level_valid_until": (now.date() + timedelta(days=30)).isoformat(),
        }
        links = []
        if line:
            links.append({"resident_id": ids["resident"], "channel": "line", "user_id": ids["line"]})
        if web:
            links.append({"resident_id": ids["resident"], "channel": "web", "user_id": ids["web"]})
        data = {
            "households": [{"id": f"H-{tag}", "address": address, "members": [head, mother]}],
            "consents": [{"resident_id": ids["resident"], "scopes": ["outreach"]}] if consent else [],
            "links": links,
        }
        path = tmp_path / f"residents-{tag}.json"
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        import_residents_file(path, settings.resolved_database_url, today=date(2026, 12, 1))
        return ids

    return make


RENEWAL_RULE = """
topics:
  care: {label: 介護認定のお知らせ, words: [介護, 認定]}
  reminder: {label: ご予約の前日のお知らせ, words: [予約, 前日]}
rules:
  - id: care_renewal
    topic: care
    consent: outreach
    when: {member_date: care_level_valid_until, days_before: 60}
    who: {member: {care_level: true}}
    text: ご家族の介護認定の有効期間が{date}に終わります。
    why: 介護認定の有効期間の終わりが近いため
    buttons:
      - {title: 更新の手続きを見る, payload: /care_certification}
  - id: bulky_tomorrow
    topic: reminder
    consent: none
    when: {reservation: bulky_waste, days_before: 1}
    text: 明日（{date}）は粗大ごみの収集日です（受付番号 {number}）。
    why: このチャットで粗大ごみの収集を申し込まれたため
"""


@pytest.fixture(autouse=True)
def rules_file(settings: Settings) -> Path:
    """The test's own rules in $DATA_DIR/knowledge (the file a municipality puts there)."""
    path = Path(settings.data_dir) / "knowledge" / "outreach_rules.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RENEWAL_RULE, encoding="utf-8")
    return path
