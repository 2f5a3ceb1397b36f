"""粗大ごみ: items from words, address, collection date, fee total, reservation — end to end."""

from __future__ import annotations

import pytest

from handlers.bulky_waste import match_items
from knowledge.services_data import load_services
from tests.handlers.conftest import stored

pytestmark = pytest.mark.usefixtures("booking_day")


async def test_two_items_in_one_message_to_a_reservation(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファと自転車を出したい")
    assert "町名と番地" in bot.text
    await bot.say("デモ区中央1-1-1")
    assert "収集日" in bot.text
    assert bot.button_titles[:4] == ["12月1日（火）", "12月4日（金）", "12月8日（火）", "12月11日（金）"]
    await bot.press("12月4日（金）")
    assert "ソファ（1人掛け）×1　800円" in bot.text
    assert "自転車×1　500円" in bot.text
    assert "料金合計：1,300円" in bot.text
    assert "収集場所：中央1-1-1" in bot.text
    assert not await stored(services, "bulky_waste")  # nothing before the resident confirms
    await bot.press("はい")
    assert "受付番号は G-20261204-0001" in bot.text
    assert "処理券" in bot.text and "0120-000-530" in bot.text  # how to pay, how to cancel: from the data
    rows = await stored(services, "bulky_waste")
    assert [(r.number, r.resource, r.details["total_fee"]) for r in rows] == [("G-20261204-0001", "中央", 1300)]


async def test_quantities_unknown_and_refused_items_are_said_plainly(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("粗大ごみを出したい")
    assert "品物" in bot.text
    await bot.say("ピアノと大きい棚")
    assert "「ピアノ」は粗大ごみとして出せません" in bot.text
    assert "「棚」は粗大ごみの品目表に見当たりません" in bot.text and "本棚" in bot.text
    assert "品物と数" in bot.text  # asked again
    await bot.say("椅子2脚とテレビ台")
    await bot.say("北町3-2")
    assert bot.button_titles[0] == "12月3日（木）"  # 北: 月・木, four days ahead at the earliest
    await bot.press("12月3日（木）")
    assert "椅子×2　600円" in bot.text and "料金合計：1,400円" in bot.text


async def test_date_validation_past_wrong_weekday_too_soon(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファを出したい")
    await bot.say("住所は中央2-5")
    await bot.say('/inform{"date":"2026-11-20"}')
    assert "11月20日（金）はすでに過ぎています" in bot.text
    await bot.say('/inform{"date":"2026-12-02"}')
    assert "12月2日（水）は中央地区の収集日ではありません" in bot.text and "火・金" in bot.text
    assert "申し込める収集日：12月1日（火）" in bot.text
    await bot.say('/inform{"date":"2026-11-28"}')
    assert "近すぎる" in bot.text and "12月1日（火）以降" in bot.text
    await bot.say("12月8日でお願いします")
    assert "この内容でよろしいですか" in bot.text and "12月8日（火）" in bot.text


async def test_correction_at_confirmation(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファを出したい")
    await bot.say("中央1-1-1")
    await bot.press("12月1日（火）")
    await bot.say("日付を変えたい")
    assert "収集日を選んでください" in bot.text
    await bot.press("12月8日（火）")
    assert "収集日：12月8日（火）" in bot.text
    await bot.say("椅子3脚に変更します")
    assert "椅子×3　900円" in bot.text and "ソファ" not in bot.text
    await bot.press("はい")
    rows = await stored(services, "bulky_waste")
    assert rows[0].details["items"] == [{"id": "chair", "name": "椅子", "fee": 300, "qty": 3}]
    assert str(rows[0].service_date) == "2026-12-08"


async def test_cancel_then_nothing_is_stored(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファを出したい")
    await bot.say("中央1-1-1")
    await bot.say("やめる")
    assert "取りやめました" in bot.text
    await bot.say("はい")
    assert "受付番号" not in bot.text
    assert not await stored(services, "bulky_waste")


async def test_interruption_is_answered_then_the_form_resumes(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファを出したい")
    await bot.say("住民票はどこで取れますか")  # an unrelated question in the middle
    assert "粗大ごみ収集の申込みの続きです" in bot.text and "町名と番地" in bot.text
    await bot.say("中央1-1-1")
    await bot.press("12月1日（火）")
    await bot.press("はい")
    assert "G-20261201-0001" in bot.text


async def test_fee_question_answers_without_starting_a_form(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファの粗大ごみの料金はいくら？")
    assert "ソファ（1人掛け）：800円" in bot.text
    assert "収集を申し込む" in bot.button_titles


def test_item_matching_folds_kana_and_reads_quantities() -> None:
    data = load_services()
    found = match_items(data, "そふぁー１つと2脚の椅子、ベット", find_unknown=True)
    assert [(i["id"], i["qty"]) for i in found["items"]] == [("sofa_1", 1), ("chair", 2), ("bed_single", 1)]
    assert match_items(data, "テレビ台", find_unknown=True)["refused"] == []  # テレビ台 is not テレビ
    assert match_items(data, "テレビ", find_unknown=True)["refused"][0][0] == "テレビ"
    assert len(data.bulky_waste.items) >= 40


async def test_two_residents_confirm_the_last_place_at_once(services, dispatcher) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.testing import Conversation

    data = services.knowledge["services"]
    one_a_day = data.bulky_waste.model_copy(update={"daily_limit": 1})
    services.knowledge["services"] = data.model_copy(update={"bulky_waste": one_a_day})
    residents = [Conversation(dispatcher, sender_id=f"resident-{n}") for n in range(2)]
    for resident in residents:
        await resident.say("ソファを出したい")
        await resident.say("デモ区中央1-1-1")
        await resident.press("12月1日（火）")
    await asyncio.gather(*(r.press("はい") for r in residents))
    won = [r for r in residents if "受付番号は G-20261201-0001" in r.text]
    lost = [r for r in residents if "たった今いっぱいになりました" in r.text]
    assert len(won) == 1 and len(lost) == 1
    assert "12月1日（火）" not in lost[0].button_titles and "12月4日（金）" in lost[0].button_titles
    assert [r.number for r in await stored(services, "bulky_waste")] == ["G-20261201-0001"]
