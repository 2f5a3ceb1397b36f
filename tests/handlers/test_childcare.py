"""一時預かり: age, date, time range, facility, capacity — end to end."""

from __future__ import annotations

import pytest

from tests.handlers.conftest import give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")


async def test_first_message_fills_date_and_age(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜に2歳の子を預けたい")
    assert "何時から何時まで" in bot.text  # age and date are already known
    await bot.say("9時から15時まで")
    assert bot.button_titles[:3] == ["ひまわり保育園", "子育てプラザきた", "みなと乳児室"]
    await bot.press("ひまわり保育園")
    await give_contact(bot)
    assert "お子さんの年齢：2歳" in bot.text and "利用日：12月1日（火）" in bot.text
    assert "時間：09:00〜15:00" in bot.text and "利用料：1,800円（1時間300円）" in bot.text
    await bot.press("はい")
    assert "受付番号は H-20261201-0001" in bot.text
    assert "母子健康手帳" in bot.text and "03-0000-1101" in bot.text
    rows = await stored(services, "childcare_temporary")
    assert [(r.number, r.resource, r.start_time, r.end_time) for r in rows] == [
        ("H-20261201-0001", "himawari", "09:00", "15:00")
    ]


async def test_age_out_of_range_lists_what_each_facility_accepts(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("一時預かりを利用したい")
    assert "年齢" in bot.text
    await bot.say("7歳です")
    assert "7歳のお子さんを一時預かりできる施設はありません" in bot.text
    assert "みなと乳児室：3か月から3歳未満" in bot.text and "ひまわり保育園：6か月から6歳未満" in bot.text
    assert "年齢を教えてください" in bot.text  # asked again
    await bot.say("8か月です")
    assert "預けたい日" in bot.text


async def test_closed_day_and_facility_closed_that_day(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("2歳の子の一時預かりをお願いしたい")
    await bot.say('/inform{"date":"2026-12-06"}')  # a Sunday
    assert "12月6日（日）はお子さんを預けられる施設がお休みです" in bot.text
    await bot.say('/inform{"date":"2026-12-05"}')  # Saturday: only 子育てプラザきた is open
    await bot.say("10時から12時")
    assert bot.button_titles[:1] == ["子育てプラザきた"] and "ひまわり保育園" not in bot.button_titles
    await bot.say("ひまわり保育園")
    assert "12月5日（土）はひまわり保育園の休園日です" in bot.text
    await bot.say('/inform{"facility":"kodomo_plaza"}')
    await give_contact(bot)
    assert "利用料：800円（1時間400円）" in bot.text


async def test_hours_outside_every_facility_are_refused(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜に2歳の子を預けたい")
    await bot.say("6時から8時")
    assert "預かれる施設がありません" in bot.text and "ひまわり保育園：08:30〜17:00" in bot.text
    await bot.press("09:00〜12:00")
    assert "施設を選んでください" in bot.text


async def test_facility_that_does_not_take_the_age(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜に8か月の子を預けたい")
    await bot.say("9時から12時")
    assert "子育てプラザきた" not in bot.button_titles
    await bot.say("子育てプラザきたでお願いします")
    assert "子育てプラザきたは1歳から6歳未満のお子さんが対象です" in bot.text
    assert "ひまわり保育園、みなと乳児室" in bot.text


async def test_correction_cancel_and_interruption(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("来週火曜に2歳の子を預けたい")
    await bot.say("住民票はどこで取れますか")  # unrelated question: answered, then the form asks again
    assert "一時預かりの予約の続きです" in bot.text and "何時から何時まで" in bot.text
    await bot.say("9時から15時")
    await bot.press("みなと乳児室")
    await give_contact(bot)
    assert "この内容でよろしいですか" in bot.text
    await bot.say("12月2日に変更したい")
    assert "利用日：12月2日（水）" in bot.text
    await bot.say("時間を変えたい")
    assert "何時から何時まで" in bot.text
    await bot.say("10時から12時")
    assert "時間：10:00〜12:00" in bot.text and "利用料：700円" in bot.text
    await bot.say("やめる")
    assert "取りやめました" in bot.text
    assert not await stored(services, "childcare_temporary")


async def test_last_place_taken_meanwhile_is_said_and_another_facility_offered(  # type: ignore[no-untyped-def]
    bot, dispatcher, services
) -> None:
    from bot.engine.testing import Conversation

    other = Conversation(dispatcher, sender_id="other-parent")
    for conv in (bot, other):
        await conv.say("来週火曜に2歳の子を預けたい")
        await conv.say("9時から15時")
        await conv.press("みなと乳児室")
        await give_contact(conv)
    for n in range(3):  # みなと乳児室 takes 4 a day; three places go elsewhere first
        third = Conversation(dispatcher, sender_id=f"p{n}")
        await third.say("来週火曜に2歳の子を預けたい")
        await third.say("9時から15時")
        await third.press("みなと乳児室")
        await give_contact(third)
        await third.press("はい")
        assert "受付番号" in third.text
    await other.press("はい")
    assert "受付番号は H-20261201-0004" in other.text
    await bot.press("はい")
    assert "たった今、定員に達しました" in bot.text
    assert "みなと乳児室" not in bot.button_titles and "ひまわり保育園" in bot.button_titles
    assert len(await stored(services, "childcare_temporary")) == 4
