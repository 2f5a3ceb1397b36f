"""QA M3/M4: a day of the month alone, half-width katakana day words, dates inside a request."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nlu.engine import NLUEngine

FRIDAY = dt.date(2026, 11, 27)


def ents(engine: NLUEngine, text: str, kind: str, today: dt.date = FRIDAY) -> list[tuple[Any, str]]:
    out = engine.parse(text, today=today)["entities"]
    return [(e["value"], text[e["start"] : e["end"]]) for e in out if e["entity"] == kind]


@pytest.mark.parametrize(
    ("text", "value", "surface"),
    [
        ("7日で", "2026-12-07", "7日"),  # past this month: next month
        ("8日", "2026-12-08", "8日"),
        ("じゃあ8日", "2026-12-08", "8日"),
        ("15日にします", "2026-12-15", "15日"),
        ("27日", "2026-11-27", "27日"),  # today is not past
        ("30日でお願いします", "2026-11-30", "30日"),  # still ahead this month
        ("３０日", "2026-11-30", "３０日"),  # offsets into the original (full-width) text
        ("八日にお願いします", "2026-12-08", "八日"),
        ("ｱｼﾀ", "2026-11-28", "ｱｼﾀ"),
        ("ｱｻｯﾃでお願いします", "2026-11-29", "ｱｻｯﾃ"),
        ("アシタ行きます", "2026-11-28", "アシタ"),
    ],
)
def test_day_alone_and_katakana_words(engine: NLUEngine, text: str, value: str, surface: str) -> None:
    assert ents(engine, text, "date") == [(value, surface)]


def test_day_alone_skips_a_month_without_that_day(engine: NLUEngine) -> None:
    assert ents(engine, "31日", "date", dt.date(2027, 2, 10)) == [("2027-03-31", "31日")]
    assert ents(engine, "31日", "date") == [("2026-12-31", "31日")]


@pytest.mark.parametrize(
    "text", ["3日かかります", "14日以内に届け出", "7日間", "1日2回", "2日で届きます", "アスファルト", "キョウダイ"]
)
def test_durations_are_not_dates(engine: NLUEngine, text: str) -> None:
    assert ents(engine, text, "date") == []


@pytest.mark.parametrize("text", ["7日で", "8日", "じゃあ8日", "じゃあ8日で", "15日にします", "ｱｼﾀ"])
def test_day_answers_are_inform(engine: NLUEngine, text: str) -> None:
    assert engine.parse(text, today=FRIDAY)["intent"]["name"] == "inform"


def test_goodbye_still_goodbye(engine: NLUEngine) -> None:
    assert engine.parse("じゃあね", today=FRIDAY)["intent"]["name"] == "goodbye"


def test_dated_certificate_request(engine: NLUEngine) -> None:
    result = engine.parse("令和8年4月1日午後3時に住民票を十通", today=FRIDAY)
    assert result["intent"]["name"] == "juminhyo"
    got = {e["entity"]: e["value"] for e in result["entities"]}
    assert got == {"date": "2026-04-01", "time": "15:00", "count": 10}


def test_cli_rejects_an_impossible_today(capsys: pytest.CaptureFixture[str]) -> None:
    from nlu.__main__ import main

    with pytest.raises(SystemExit) as exc:
        main(["parse", "--today", "2026-13-45", "x"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--today" in err and "YYYY-MM-DD" in err and "Traceback" not in err
