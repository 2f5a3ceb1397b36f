"""Button payloads with a value of the wrong type never raise: the question comes again (M1)."""

from __future__ import annotations

import json

import pytest

from handlers.forms import as_int

pytestmark = pytest.mark.usefixtures("booking_day")

SYSTEM_ERROR = "システムで問題"
BAD_VALUES = ["abc", [], {"a": 1}, None, True, 2.5, "-"]

# (first message, the question it asks, the slots a wrong-typed button may carry)
FORMS = [
    ("住民票を窓口でほしい", "どなたの証明書", ("copies", "requester", "method", "count", "option")),
    ("住民票を2通、郵送でほしい", "どなたの証明書", ("copies", "requester", "method", "relation")),
    ("来週火曜日に一時預かりを利用したい", "お子さんの年齢", ("age", "hours", "facility", "date", "count")),
    ("体育館を予約したい", "利用日", ("people", "count", "date", "slot", "room")),
    ("母の介護の相談をしたい", "どのようなご相談", ("relation", "method", "time", "date", "town")),
]
CASES = [(first, question, slot, bad) for first, question, slots in FORMS for slot in slots for bad in BAD_VALUES]


@pytest.mark.parametrize(("first", "question", "slot", "bad"), CASES)
async def test_wrong_typed_button_values_re_ask(bot, first: str, question: str, slot: str, bad: object) -> None:  # type: ignore[no-untyped-def]
    await bot.say(first)
    assert question in bot.text
    await bot.say("/inform" + json.dumps({slot: bad}, ensure_ascii=False))
    assert SYSTEM_ERROR not in bot.text
    assert question in bot.text  # asked again


@pytest.mark.parametrize("bad", [-1, 0, "-3", 999])
async def test_out_of_range_copies_refused_at_once(bot, bad: object) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    assert "どなたの証明書" in bot.text
    await bot.say("/inform" + json.dumps({"copies": bad}))
    assert "通までの数で教えてください" in bot.text  # refused now, not a turn later
    assert "どなたの証明書" in bot.text
    await bot.press("ご本人")
    assert "何通必要ですか" in bot.text  # nothing was stored
    assert SYSTEM_ERROR not in bot.text


async def test_negative_people_and_age_refused(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜日に一時預かりを利用したい")
    await bot.say('/inform{"age":-1}')
    assert "0歳以上" in bot.text and "お子さんの年齢" in bot.text
    await bot.say("やめる")
    await bot.say("体育館を予約したい")
    await bot.say('/inform{"people":-5}')
    assert "1人以上" in bot.text and SYSTEM_ERROR not in bot.text


def test_as_int() -> None:
    assert [as_int(v) for v in (3, "3", "３", " 12 ", -1, "-1", 2.0)] == [3, 3, 3, 12, -1, -1, 2]
    assert [as_int(v) for v in ("abc", [], {}, True, 2.5, None, "")] == [None] * 7
