"""Staff office hours as data: weekdays, 第2・第4土曜, national holidays (jpholiday), 年末年始."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from knowledge.office_hours import OfficeHoursError, describe, load_office_hours, parse_office_hours

JST = ZoneInfo("Asia/Tokyo")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=JST)


def test_the_demo_hours() -> None:
    hours = load_office_hours(Path("/nonexistent"), {"kumin", "seiso", "sogo_annai"})
    assert hours.is_open("seiso", at("2026-12-04T10:00"))  # a Friday
    assert not hours.is_open("seiso", at("2026-12-04T04:36"))
    assert describe(hours.next_opening("seiso", at("2026-12-04T04:36"))) == "12月4日（金）8:30"  # type: ignore[arg-type]
    assert hours.is_open("kumin", at("2026-12-12T10:00"))  # 第2土曜: 区民課 opens
    assert not hours.is_open("seiso", at("2026-12-12T10:00"))
    assert not hours.is_open("kumin", at("2026-12-19T10:00"))  # 第3土曜
    assert not hours.is_open("kumin", at("2027-01-11T10:00"))  # 成人の日 (jpholiday)
    assert not hours.is_open("kumin", at("2026-12-29T10:00"))  # 年末年始
    back = hours.next_opening("kumin", at("2026-12-28T18:00"))
    assert back is not None and back.date().isoformat() == "2027-01-04"


def test_mistakes_name_the_field() -> None:
    raw = {
        "general_department": "x",
        "schedules": {"a": {"label": "A", "weekly": {"mon": "9:00-17:00"}}},
        "default_schedule": "a",
    }
    with pytest.raises(OfficeHoursError, match=r"schedules\.a\.weekly"):
        parse_office_hours(raw, "office_hours.yml")
    raw["schedules"] = {"a": {"label": "A"}}
    raw["default_schedule"] = "b"
    with pytest.raises(OfficeHoursError, match="default_schedule"):
        parse_office_hours(raw, "office_hours.yml")


def test_unknown_department_refused(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "office_hours.yml").write_text(
        "general_department: nowhere\nschedules: {a: {label: A}}\ndefault_schedule: a\n", encoding="utf-8"
    )
    with pytest.raises(OfficeHoursError, match="nowhere"):
        load_office_hours(tmp_path, {"kumin"})
