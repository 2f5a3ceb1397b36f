"""粗大ごみ: items from words, address, collection date, fee total, reservation — end to end."""

from __future__ import annotations

import pytest

from handlers.bulky_items import match_items
from knowledge.services_data import load_services
from tests.handlers.conftest import give_contact, stored

pytestmark = pytest.mark.usefixtures("booking_day")


async def test_two_items_in_one_message_to_a_reservation(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファと自転車を出したい")
    assert "大きさによって料金が変わります" in bot.text  # a plain ソファ is not priced as the cheaper one
    assert bot.button_titles[:2] == ["ソファ（1人掛け） 800円", "ソファ（2人掛け以上） 1,600円"]
    await bot.press("ソファ（1人掛け） 800円")
    assert "町名と番地" in bot.text
    await bot.say("デモ区中央1-1-1")
    assert "収集日" in bot.text
    assert bot.button_titles[:4] == ["12月1日（火）", "12月4日（金）", "12月8日（火）", "12月11日（金）"]
    await bot.press("12月4日（金）")
    await give_contact(bot)
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
    await give_contact(bot)
    assert "椅子×2　600円" in bot.text and "料金合計：1,400円" in bot.text


async def test_date_validation_past_wrong_weekday_too_soon(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("1人掛けのソファを出したい")
    await bot.say("住所は中央2-5")
    await bot.say('/inform{"date":"2026-11-20"}')
    assert "11月20日（金）はすでに過ぎています" in bot.text
    await bot.say('/inform{"date":"2026-12-02"}')
    assert "12月2日（水）は中央地区の収集日ではありません" in bot.text and "火・金" in bot.text
    assert "申し込める収集日：12月1日（火）" in bot.text
    await bot.say('/inform{"date":"2026-11-28"}')
    assert "近すぎる" in bot.text and "12月1日（火）以降" in bot.text
    await bot.say("12月8日でお願いします")
    await give_contact(bot)
    assert "この内容でよろしいですか" in bot.text and "12月8日（火）" in bot.text


async def test_correction_at_confirmation(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("1人掛けのソファを出したい")
    await bot.say("中央1-1-1")
    await bot.press("12月1日（火）")
    await give_contact(bot)
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
    await bot.say("1人掛けのソファを出したい")
    await bot.say("中央1-1-1")
    await bot.say("やめる")
    assert "取りやめました" in bot.text
    await bot.say("はい")
    assert "受付番号" not in bot.text
    assert not await stored(services, "bulky_waste")


async def test_interruption_is_answered_then_the_form_resumes(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("1人掛けのソファを出したい")
    await bot.say("住民票はどこで取れますか")  # an unrelated question in the middle
    assert "粗大ごみ収集の申込みの続きです" in bot.text and "町名と番地" in bot.text
    await bot.say("中央1-1-1")
    await bot.press("12月1日（火）")
    await give_contact(bot)
    await bot.press("はい")
    assert "G-20261201-0001" in bot.text


async def test_fee_question_answers_without_starting_a_form(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファの粗大ごみの料金はいくら？")
    assert "ソファ（1人掛け）：800円" in bot.text
    assert "収集を申し込む" in bot.button_titles


def test_item_matching_folds_kana_and_reads_quantities() -> None:
    data = load_services()
    found = match_items(data, "そふぁー１つと2脚の椅子、ベット", find_unknown=True)
    assert [(i["id"], i["qty"]) for i in found["items"]] == [("chair", 2)]
    assert [(a["word"], a["qty"]) for a in found["ask"]] == [("ソファ", 1), ("ベッド", 1)]  # sizes asked
    found = match_items(data, "ひとり掛けのそふぁー１つと2脚の椅子、シングルのベット", find_unknown=True)
    assert [(i["id"], i["qty"]) for i in found["items"]] == [("sofa_1", 1), ("chair", 2), ("bed_single", 1)]
    assert found["unknown"] == [] and found["ask"] == []
    found = match_items(data, "ソファは3人掛けです", find_unknown=True)
    assert [i["id"] for i in found["items"]] == ["sofa_2"] and found["unknown"] == []
    assert match_items(data, "テレビ台", find_unknown=True)["refused"] == []  # テレビ台 is not テレビ
    assert match_items(data, "テレビ", find_unknown=True)["refused"][0][0] == "テレビ"
    assert len(data.bulky_waste.items) >= 40


async def test_two_residents_confirm_the_last_place_at_once(services, dispatcher) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from bot.engine.testing import Conversation

    data = services.knowledge["services"]
    one_a_day = data.bulky_waste.model_copy(update={"daily_limit": 1})
    services.knowledge["services"] = data.model_copy(update={"bulky_waste": one_a_day})
    residents = [Conversation(dispatcher, sender_id=f"resident-{n}") for n in range(2)]
    for resident in residents:
        await resident.say("1人掛けのソファを出したい")
        await resident.say("デモ区中央1-1-1")
        await resident.press("12月1日（火）")
        await give_contact(resident)
    await asyncio.gather(*(r.press("はい") for r in residents))
    won = [r for r in residents if "受付番号は G-20261201-0001" in r.text]
    lost = [r for r in residents if "たった今いっぱいになりました" in r.text]
    assert len(won) == 1 and len(lost) == 1
    assert "12月1日（火）" not in lost[0].button_titles and "12月4日（金）" in lost[0].button_titles
    assert [r.number for r in await stored(services, "bulky_waste")] == ["G-20261201-0001"]


async def test_size_correction_at_confirmation_keeps_the_other_items(bot, services) -> None:  # type: ignore[no-untyped-def]
    """H3: "ソファは3人掛けです" changes only the sofa (fee from the data); the bicycle stays."""
    await bot.say("ソファと自転車を捨てたいんですが")
    await bot.press("ソファ（1人掛け） 800円")
    await bot.say("桜台2-3-4")
    await bot.say("12月7日")
    await give_contact(bot)
    assert "ソファ（1人掛け）×1　800円" in bot.text and "自転車×1　500円" in bot.text
    await bot.say("ソファは3人掛けです")
    assert "この内容でよろしいですか" in bot.text
    assert "ソファ（2人掛け以上）×1　1,600円" in bot.text and "1人掛け" not in bot.text
    assert "自転車×1　500円" in bot.text and "料金合計：2,100円" in bot.text
    await bot.say("自転車は2台です")
    assert "自転車×2　1,000円" in bot.text and "ソファ（2人掛け以上）×1" in bot.text
    assert "料金合計：2,600円" in bot.text
    await bot.press("はい")
    rows = await stored(services, "bulky_waste")
    assert [(i["id"], i["qty"]) for i in rows[0].details["items"]] == [("bicycle", 2), ("sofa_2", 1)]
    assert rows[0].details["total_fee"] == 2600


async def test_plain_sized_item_is_asked_by_text_too(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ベッドとタンスを出したい")
    assert "ベッド（シングル） 1,200円" in bot.button_titles
    await bot.say("セミダブルです")
    assert "タンス（高さ1m以上） 1,600円" in bot.button_titles  # then the next sized item
    await bot.press("タンス（高さ1m未満） 800円")
    assert "町名と番地" in bot.text
    await bot.say("中央1-1-1")
    await bot.press("12月1日（火）")
    await give_contact(bot)
    assert "ベッド（セミダブル以上）×1　2,000円" in bot.text and "タンス（高さ1m未満）×1　800円" in bot.text


async def test_fee_question_lists_every_size(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ソファの粗大ごみの料金はいくら？")
    assert "ソファ（1人掛け）：800円" in bot.text and "ソファ（2人掛け以上）：1,600円" in bot.text


async def test_only_items_the_ward_does_not_collect(bot) -> None:  # type: ignore[no-untyped-def]
    """M6: one refusal with the reason from the data, then other items or stopping."""
    await bot.say("テレビと冷蔵庫を捨てたい")
    text = bot.text
    assert "申し込みます" not in text
    assert text.count("家電リサイクル法") == 1 and "「テレビ」・「冷蔵庫」は粗大ごみとして出せません" in text
    assert "出したい品物と数を教えてください" not in text
    assert bot.button_titles == ["ほかの品物を申し込む", "やめる"]
    await bot.press("やめる")
    assert "受付番号" not in bot.text


async def test_after_a_refusal_other_items_can_be_named(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("テレビと冷蔵庫を捨てたい")
    await bot.press("ほかの品物を申し込む")
    assert "品物と数" in bot.text
    await bot.say("エアコンと洗濯機と自転車")
    assert bot.text.count("家電リサイクル法") == 1  # one line per reason, not per item
    assert "（わかった品目：自転車×1）" in bot.text
