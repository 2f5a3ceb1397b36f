"""Fixtures for the reservation flows: a fixed today and an empty reservations table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import delete

from knowledge.bookings import Reservation, ReservationCounter, list_reservations
from knowledge.catalog import PACKAGED_CATALOG

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Friday


@pytest.fixture
async def booking_day(services) -> None:  # type: ignore[no-untyped-def]
    """A fixed today, and no reservations left by an earlier test (PostgreSQL keeps one database)."""
    services.clock = lambda: NOW
    async with services.sessionmaker() as session, session.begin():
        await session.execute(delete(Reservation))
        await session.execute(delete(ReservationCounter))


async def stored(services, kind: str):  # type: ignore[no-untyped-def]
    async with services.sessionmaker() as session:
        return await list_reservations(session, kind=kind)


async def give_contact(conv, name: str = "山田花子", phone: str = "090-1234-5678") -> None:  # type: ignore[no-untyped-def]
    """An anonymous resident's booking asks a name and a phone number before the confirmation."""
    assert "お名前を教えてください" in conv.text, conv.text
    await conv.say(name)
    assert "電話番号を教えてください" in conv.text, conv.text
    await conv.say(phone)


# An information-only procedure that no code names: added to a copy of the packaged catalog placed
# in $DATA_DIR/knowledge/ (which replaces the packaged one, README "Loading a municipality's data").
BICYCLE = {
    "title": "放置自転車の引き取り",
    "short": "放置自転車",
    "summary": "撤去された自転車は、保管所で引き取れます。",
    "who": "撤去された自転車の持ち主",
    "documents": ["自転車の鍵", "本人確認書類"],
    "fees": [{"label": "撤去・保管の手数料", "amount": 2000, "unit": "1台"}],
    "office": "seiso_madoguchi",
    "department": "seiso",
    "deadline": "撤去した日から60日以内",
    "related": ["bulky_waste"],
    "url": "https://www.city.demo.example/kurashi/jitensha/index.html",
}


def write_local_catalog(data_dir: Path, **procedures: dict[str, Any]) -> Path:
    """The packaged catalog with `procedures` added, as $DATA_DIR/knowledge/procedures.yml."""
    raw = yaml.safe_load(PACKAGED_CATALOG.read_text(encoding="utf-8"))
    raw["procedures"].update(procedures)
    path = data_dir / "knowledge" / "procedures.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
