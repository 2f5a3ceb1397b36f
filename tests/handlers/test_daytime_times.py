"""M3: "3時で" in a form whose offered times are all in the daytime means 15:00, not 03:00."""

from __future__ import annotations

import pytest

from handlers.reservations import daytime_span, daytime_time
from tests.handlers.conftest import give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")


@pytest.mark.parametrize(
    ("value", "text", "expected"),
    [
        ("03:00", "3時で", "15:00"),
        ("01:30", "1時半から", "13:30"),
        ("07:00", "7時まで", "19:00"),
        ("03:00", "午前3時", "03:00"),  # said explicitly: kept (and then refused by the form)
        ("08:00", "8時", "08:00"),  # not 1–7
        ("10:00", "10時", "10:00"),
        ("15:00", "15時", "15:00"),
        ("09:00", "9時", "09:00"),
    ],
)
def test_daytime_time(value: str, text: str, expected: str) -> None:
    assert daytime_time(value, text, "08:00") == expected


def test_daytime_time_only_below_the_earliest_offered_and_never_raises() -> None:
    assert daytime_time("09:00", "9時", "10:00") == "09:00"  # 9時 is not read as 21時
    assert daytime_time("abc", "", "10:00") is None
    assert daytime_time(["03:00"], "", "10:00") is None


async def test_care_consultation_3ji_is_15_00(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("母の介護について相談したい")
    await bot.say("物忘れが増えてきた")
    await bot.say("デモ区中央1-1-1です")
    await bot.press("センターで相談（予約する）")
    await bot.press("12月1日（火）")
    assert bot.button_titles[:3] == ["10:00", "13:30", "15:00"]
    await bot.say("3時で")
    assert "相談の開始時刻は" not in bot.text
    await give_contact(bot)
    assert "日時：12月1日（火） 15:00〜16:00" in bot.text
    await bot.press("はい")
    rows = await stored(services, "care_consultation")
    assert [r.start_time for r in rows] == ["15:00"]


async def test_facility_3ji_is_the_afternoon_slot(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("体育館を予約したい")
    await bot.say("12月9日")
    await bot.say("3時から使いたい")
    assert "利用する人数" in bot.text  # the time slot was filled
    await bot.say("5名です")
    await give_contact(bot)
    assert "時間帯：午後 13:00〜17:00" in bot.text


async def test_childcare_10ji_kara_3ji_is_until_15_00(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜日に2歳の子を一時預かりで預けたい")
    assert "何時から何時まで" in bot.text
    await bot.say("10時から3時まで")
    assert "終わりの時刻は始まりより後" not in bot.text
    await bot.press("ひまわり保育園")
    await give_contact(bot)
    assert "時間：10:00〜15:00" in bot.text


def test_daytime_span() -> None:
    assert daytime_span(["10:00", "03:00"], "10時から3時", "08:00") == ["10:00", "15:00"]
    assert daytime_span(["01:00", "05:00"], "1時から5時", "08:00") == ["13:00", "17:00"]
    assert daytime_span(["06:00", "08:00"], "6時から8時", "08:00") == ["06:00", "08:00"]
    assert daytime_span(["09:00", "15:00"], "9時から15時", "08:00") == ["09:00", "15:00"]
    assert daytime_span(["03:00"], "3時から", "08:00") == ["15:00"]
