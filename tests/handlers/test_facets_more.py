"""Issue 15, the rest: English facet-first answers, hours per weekday from the structure, booking
forms that answer a facet question before booking, one-word time slots. Behaviour, not phrases:
the facts checked are read from the data."""

from __future__ import annotations

from datetime import date

import pytest

from handlers.hours_answers import hours_sentences
from knowledge.catalog import PACKAGED_CATALOG, Catalog
from knowledge.office_hours import Schedule, YearEnd
from knowledge.opening_hours import Opening, short_time
from knowledge.services_data import load_services
from nlu.day_parts import day_part
from nlu.facets import detect_facet, hours_details
from tests.handlers.conftest import give_contact


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load(PACKAGED_CATALOG)


def _yen(amount: int) -> str:
    return f"{amount:,} yen"


# -- English facet-first ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "facet"),
    [
        ("Can I get a residence certificate at a convenience store?", "convenience"),
        ("What does it cost?", "fee"),
        ("Is the office open on Saturday?", "hours"),
        ("What do I need to bring?", "documents"),
        ("Can someone else apply for me?", "proxy"),
        ("When is the child allowance paid?", "payment"),
        ("I lost my My Number card", "lost"),
        ("I want a residence certificate", None),
    ],
)
def test_english_facets_are_recognised(text: str, facet: str | None) -> None:
    assert detect_facet(text) == facet


async def test_english_facet_first_then_the_card(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    proc = catalog.procedure("juminhyo")
    assert proc.convenience is not None and proc.convenience.fee is not None
    await bot.say("Can I get a residence certificate at a convenience store?")
    first = bot.last[0]
    assert _yen(proc.convenience.fee) in first.text and first.card is None
    assert all(ord(c) < 0x3000 for c in first.text)  # plain English, not the Japanese sentence
    assert any(r.card is not None for r in bot.last[1:])


async def test_english_follow_up_questions_keep_the_procedure(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    proc = catalog.procedure("juminhyo")
    copy_fee = next(f for f in proc.fees if f.per_copy).amount
    await bot.say("I need a residence certificate")
    await bot.say("What does it cost?")
    assert _yen(copy_fee) in bot.last[0].text
    await bot.say("Is the office open on Saturday?")
    rule = catalog.opening(catalog.office_of(proc).hours).day_rule("sat")  # type: ignore[union-attr]
    assert rule.nth is not None and short_time(rule.nth[0]) in bot.last[0].text
    await bot.say("Can someone else apply for me?")
    assert "proxy" in bot.last[0].text.lower()
    assert "queue" not in bot.text  # a question about proxies, not a hand-off


async def test_english_no_data_is_said_with_a_person_offered(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    assert catalog.procedure("child_allowance").convenience is None
    await bot.say("Can I apply for the child allowance at a convenience store?")
    first = bot.last[0]
    assert "no information" in first.text and "yen" not in first.text
    assert any(b.payload == "/request_human" for b in first.buttons)


async def test_english_saturday_without_a_procedure_names_the_open_counters(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("Is the office open on Saturday?")
    open_on_sat = [
        o.name
        for o in catalog.offices.values()
        if (op := catalog.opening(o.hours)) is not None and not op.day_rule("sat").closed
    ]
    assert open_on_sat and all(name in bot.last[0].text for name in open_on_sat)
    closed = [o.name for o in catalog.offices.values() if o.name not in open_on_sat]
    assert not any(f"{name} (" in bot.last[0].text for name in closed)


# -- hours per weekday, from the structure -----------------------------------------------------------
def _opening(**kw) -> Opening:  # type: ignore[no-untyped-def]
    schedule = Schedule(label="x", **kw)
    return Opening(schedule, closed_on_holidays=True, year_end=YearEnd(first="12-29", last="01-03"))


def test_hours_sentences_follow_the_structure() -> None:
    every_sat = _opening(weekly={"mon": "08:30-17:15", "sat": "10:00-15:00"})
    assert "10:00〜15:00" in (hours_sentences(every_sat, ("sat",)) or "")
    assert "閉まって" in (hours_sentences(every_sat, ("sun",)) or "")
    assert "12月29日" in (hours_sentences(every_sat, ("year_end",)) or "")
    assert "閉まって" in (hours_sentences(every_sat, ("holiday",)) or "")
    assert hours_sentences(every_sat, ()) is None  # nothing specific asked: the label is said
    assert hours_sentences(None, ("sat",)) is None  # no structure: never invented
    english = hours_sentences(every_sat, ("sat",), "en") or ""
    assert "10:00-15:00" in english and "Saturday" in english


def test_nth_saturdays_and_dates() -> None:
    nth = _opening(weekly={"fri": "08:30-17:15"}, nth=({"weekday": "sat", "weeks": (2, 4), "hours": "09:00-12:00"},))
    said = hours_sentences(nth, ("sat",)) or ""
    assert "第2・第4" in said and "9:00〜12:00" in said
    assert nth.span_on(date(2026, 12, 12)) == ("09:00", "12:00")  # the 2nd Saturday
    assert nth.span_on(date(2026, 12, 19)) is None  # the 3rd
    assert nth.span_on(date(2027, 1, 1)) is None  # 年末年始


def test_hours_details_are_read_from_cues() -> None:
    assert hours_details("土日も開いていますか") == ("sat", "sun")
    assert "close" in hours_details("何時まで受け付けていますか")
    assert "holiday" in hours_details("Open on holidays?")


async def test_saturday_question_answered_from_the_weekly_structure(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    koseki = catalog.procedure("koseki")
    assert catalog.opening(catalog.office_of(koseki).hours).day_rule("sun").closed  # type: ignore[union-attr]
    await bot.say("戸籍謄本は日曜日も取れますか")
    assert "日曜日は閉まって" in bot.last[0].text
    juminhyo = catalog.procedure("juminhyo")
    rule = catalog.opening(catalog.office_of(juminhyo).hours).day_rule("sat")  # type: ignore[union-attr]
    await bot.say("住民票って土曜日も取れますか")
    assert rule.nth is not None and short_time(rule.nth[0]) in bot.last[0].text and "第2" in bot.last[0].text


# -- booking forms: the facet first, then a button to book -----------------------------------------
async def test_childcare_fee_question_answers_and_offers_booking(bot, booking_day, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    fee = catalog.procedure("childcare_temporary").fees[0]
    await bot.say("一時預かりの料金はいくらですか")
    assert f"{fee.amount}円" in bot.last[0].text
    assert "やめる" not in bot.button_titles  # no form started
    book = next(t for t in bot.button_titles if "予約" in t)
    await bot.press(book)
    assert "年齢" in bot.text  # the form's first question


async def test_childcare_age_and_bulky_fee_questions_start_no_form(bot, booking_day) -> None:  # type: ignore[no-untyped-def]
    await bot.say("一時保育は何歳から預けられますか")
    assert "3か月" in bot.last[0].text and "やめる" not in bot.button_titles
    await bot.say("粗大ごみの手数料は？")
    assert "円" in bot.last[0].text and "やめる" not in bot.button_titles
    await bot.say("粗大ごみの受付時間は")
    assert "8:30" in bot.last[0].text and "やめる" not in bot.button_titles


async def test_facet_question_mid_form_then_the_question_again(bot, booking_day) -> None:  # type: ignore[no-untyped-def]
    await bot.say("一時預かりを予約したい")
    await bot.say("2歳")
    asked = bot.last[-1].text
    await bot.say("持ち物は何ですか")
    assert "母子健康手帳" in bot.text and bot.last[-1].text == asked


# -- one-word time slots -------------------------------------------------------------------------
def test_day_parts() -> None:
    assert day_part("ごご") == day_part("午後で") == day_part("afternoon")
    assert day_part("あさ") == day_part("午前")
    assert day_part("午後1時から3時") is None


async def test_one_word_afternoon_picks_the_afternoon_span(bot, booking_day) -> None:  # type: ignore[no-untyped-def]
    await bot.say("一時預かりを予約したい")
    await bot.say("2歳")
    await bot.say("12月3日")
    await bot.say("ごご")
    assert "施設" in bot.text  # the hours were taken: the next question
    await bot.press("ひまわり保育園")
    await give_contact(bot)
    assert "13:00〜17:00" in bot.text


async def test_one_word_evening_with_two_slots_asks_again(bot, booking_day) -> None:  # type: ignore[no-untyped-def]
    slots = load_services().facilities.slots
    assert len([s for s in slots if s.start < "19:00" and s.end > "16:00"]) > 1
    await bot.say("中央区民館の会議室を予約したい")
    for _ in range(4):
        if "時間帯" in bot.text or "午前" in " ".join(bot.button_titles):
            break
        await bot.press(bot.button_titles[0])
    if "午前" not in " ".join(bot.button_titles):
        pytest.skip("the form asked the slot later than expected")
    await bot.say("ゆうがた")
    assert any("午後" in t for t in bot.button_titles) and any("夜間" in t for t in bot.button_titles)
