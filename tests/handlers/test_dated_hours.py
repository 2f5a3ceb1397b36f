"""Hours questions that name a date (issue 15): answered for that date from office_hours.yml's
structure (holidays, 年末年始, 第2・第4土曜), with the date and its weekday, in every language."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.dated_hours import day_sentence, general_day_answer

pytestmark = pytest.mark.usefixtures("booking_day")  # today is Friday 2026-11-27


def _catalog(services):  # type: ignore[no-untyped-def]
    return services.knowledge.catalog


def test_day_sentence_reads_the_structure(services) -> None:  # type: ignore[no-untyped-def]
    catalog = _catalog(services)
    saturday_counter = catalog.opening("honcho_saturday")
    assert day_sentence(saturday_counter, date(2026, 12, 12)) == "12月12日（土）は9:00〜12:00に開いています。"
    assert "第2・第4土曜日ではない" in day_sentence(saturday_counter, date(2026, 12, 5))
    assert "年末年始" in day_sentence(saturday_counter, date(2027, 1, 2))
    assert "祝日（成人の日）" in day_sentence(saturday_counter, date(2027, 1, 11))
    assert day_sentence(saturday_counter, date(2026, 12, 1), "en") == "On Tuesday, December 1 it is open 8:30-17:15."
    assert "national holiday" in day_sentence(saturday_counter, date(2027, 1, 11), "en")


def test_general_answer_groups_counters_by_their_hours(services) -> None:  # type: ignore[no-untyped-def]
    catalog = _catalog(services)
    weekday = general_day_answer(catalog, date(2026, 12, 1))
    assert weekday is not None and weekday.startswith("12月1日（火）は、区役所の窓口は8:30〜17:15")
    second_saturday = general_day_answer(catalog, date(2026, 12, 12))
    assert second_saturday is not None and "区民課 住民記録係" in second_saturday and "9:00〜12:00" in second_saturday
    assert "税務課" not in second_saturday  # closed that day: not listed as open
    assert (
        general_day_answer(catalog, date(2026, 12, 30))
        == "12月30日（水）は年末年始のため区役所の窓口は閉まっています。"
    )


async def test_japanese_questions_with_a_date(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("12月29日は開いていますか")
    assert "12月29日（火）" in bot.text and "年末年始" in bot.text and "閉まって" in bot.text
    await bot.say("来週の月曜は何時まで？")
    assert "11月30日（月）" in bot.text and "17:15" in bot.text
    await bot.say("明日 窓口やってる？")  # the 4th Saturday: the Saturday counters only
    assert "11月28日（土）" in bot.text and "9:00〜12:00" in bot.text
    await bot.say("1月11日は区役所あいてる？")
    assert "成人の日" in bot.text


async def test_a_procedure_hours_question_with_a_date(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票の窓口は12月5日の土曜日は開いていますか")
    first = bot.last[0].text
    assert "12月5日（土）" in first and "閉まって" in first, first


async def test_english_questions_with_a_date(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("Is the city hall open on December 31?")
    assert "Thursday, December 31" in bot.text and "closed" in bot.text and "New Year" in bot.text
    await bot.say("What time do you close tomorrow?")
    assert "Saturday, November 28" in bot.text and "9:00-12:00" in bot.text
    await bot.say("Is the residence certificate counter open on Jan 11?")
    assert "Monday, January 11" in bot.text and "national holiday" in bot.text


async def test_easy_japanese_question_with_a_date(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("あした まどぐち あいてる？")
    assert "28日" in bot.text and "土" in bot.text and "9:00" in bot.text, bot.text  # readings added
