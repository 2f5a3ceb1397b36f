"""介護の相談: who, what about, the area's 地域包括支援センター, an appointment or the phone."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")


async def test_appointment_at_the_centre_of_the_residents_area(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("母の介護について相談したい")
    assert "どのようなご相談" in bot.text  # 母 already filled "who"
    await bot.say("物忘れが増えてきた")
    assert "町名" in bot.text
    await bot.say("デモ区中央1-1-1です")
    assert "デモ区中央地域包括支援センター" in bot.text and "03-0000-3301" in bot.text
    await bot.press("センターで相談（予約する）")
    assert bot.button_titles[:4] == ["11月30日（月）", "12月1日（火）", "12月2日（水）", "12月3日（木）"]
    await bot.say('/inform{"date":"2026-12-05"}')
    assert "12月5日（土）は相談をお受けしていません" in bot.text
    await bot.press("12月1日（火）")
    assert bot.button_titles[:3] == ["10:00", "13:30", "15:00"]
    await bot.say("11時")
    assert "相談の開始時刻は10:00、13:30、15:00のいずれかです" in bot.text
    await bot.press("13:30")
    await give_contact(bot)
    assert "どなたの相談：お母さま" in bot.text and "相談の内容：物忘れが増えてきた" in bot.text
    assert "日時：12月1日（火） 13:30〜14:30" in bot.text
    await bot.press("はい")
    assert "受付番号は K-20261201-0001" in bot.text
    rows = await stored(services, "care_consultation")
    assert [(r.resource, r.start_time, r.details["relation"]) for r in rows] == [("care_chuo", "13:30", "mother")]


async def test_phone_only_gives_the_centre_and_creates_nothing(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("介護の相談をしたい")
    await bot.press("お父さま")
    await bot.press("介護保険の申請")
    await bot.say("東京都新宿区です")
    assert "デモ区の町名が見つかりませんでした" in bot.text
    await bot.say("北町3丁目")
    await bot.press("電話で相談する")
    assert "デモ区北地域包括支援センターへお電話ください" in bot.text and "03-0000-3302" in bot.text
    assert "月〜金 8:30〜17:15" in bot.text
    await bot.say("はい")
    assert "受付番号" not in bot.text
    assert not await stored(services, "care_consultation")


async def test_correction_interruption_and_cancel(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("母の介護について相談したい")
    await bot.press("物忘れが心配")
    await bot.say("住民票はどこで取れますか")  # answered, then the form asks again
    assert "介護の相談の予約の続きです" in bot.text and "町名" in bot.text
    await bot.say("南町です")
    await bot.press("センターで相談（予約する）")
    await bot.press("12月1日（火）")
    await bot.press("10:00")
    await give_contact(bot)
    assert "デモ区南地域包括支援センター" in bot.text
    await bot.say("日付を変えたい")
    assert "相談に行く日" in bot.text
    await bot.press("12月2日（水）")
    assert "日時：12月2日（水） 10:00〜11:00" in bot.text
    await bot.say("やめる")
    assert "取りやめました" in bot.text
    assert not await stored(services, "care_consultation")


async def test_a_taken_slot_is_refused_also_after_a_date_change(bot, dispatcher) -> None:  # type: ignore[no-untyped-def]
    from bot.engine.testing import Conversation

    first = Conversation(dispatcher, sender_id="first-family")
    for conv in (first, bot):
        await conv.say("母の介護について相談したい")
        await conv.press("物忘れが心配")
        await conv.say("デモ区中央1-1-1です")
        await conv.press("センターで相談（予約する）")
    await first.press("12月1日（火）")
    await first.press("10:00")
    await give_contact(first)
    await first.press("はい")
    assert "K-20261201-0001" in first.text
    await bot.press("12月1日（火）")
    assert bot.button_titles[:2] == ["13:30", "15:00"]  # 10:00 is no longer offered
    await bot.say("10時でお願いします")
    assert "12月1日（火）の10:00はすでに予約が入っています" in bot.text
    await bot.say("12月2日に変更したい")
    await bot.press("10:00")
    await give_contact(bot)
    assert "日時：12月2日（水） 10:00〜11:00" in bot.text
    await bot.say("12月1日に変更したい")  # the time is checked again against the new date
    assert "12月1日（火）の10:00はすでに予約が入っています" in bot.text
    assert bot.button_titles[:2] == ["13:30", "15:00"]
