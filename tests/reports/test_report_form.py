"""The 通報 form in chat (web channel, the real dispatcher and NLU): category understood or asked,
photo asked, place typed or shared, confirmation and a receipt number; stored with its department."""

from __future__ import annotations

import re

from sqlalchemy import select

from knowledge.reports import Report, ReportUpload

NUMBER = re.compile(r"r\d{12}")


async def stored(services, conversation_id: str) -> list[Report]:  # type: ignore[no-untyped-def]
    async with services.sessionmaker() as s:
        return list(await s.scalars(select(Report).where(Report.conversation_id == conversation_id)))


async def test_a_pothole_reported_with_a_typed_address(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("道路に穴が空いてて危ないです")
    assert "写真" in bot.text and "写真なしで進む" in bot.button_titles  # category understood: photo asked
    await bot.press("写真なしで進む")
    assert "場所" in bot.text
    await bot.say("さくらだい2-3 コンビニの前")
    assert "この内容でよろしいですか" in bot.text  # the first message was the description
    assert "道路・歩道" in bot.text and "デモ区桜台2丁目3" in bot.text
    await bot.press("はい")
    number = NUMBER.search(bot.text)
    assert number is not None, bot.text
    [report] = await stored(services, f"web:{bot.sender_id}")
    assert report.number == number.group(0)
    assert (report.category, report.department, report.status) == ("road", "doboku", "received")
    assert report.town == "桜台" and report.latitude is not None and report.photo is None
    assert "穴" in report.description


async def test_category_asked_when_not_understood_and_description_asked(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("通報したい")
    assert "何についての通報" in bot.text and "街灯" in bot.button_titles
    await bot.press("街灯")
    await bot.press("写真なしで進む")
    await bot.say("緑が丘1丁目")
    assert "どのような状態" in bot.text
    await bot.say("夜になっても点かない")
    await bot.press("はい")
    [report] = await stored(services, f"web:{bot.sender_id}")
    assert (report.category, report.department) == ("streetlight", "doboku")
    assert report.description == "夜になっても点かない"


async def test_an_unsure_town_offers_did_you_mean(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("公園の遊具が壊れてる")
    await bot.press("写真なしで進む")
    await bot.say("桜代2丁目")
    assert "桜台" in bot.button_titles
    await bot.press("桜台")
    assert "この内容でよろしいですか" in bot.text and "桜台" in bot.text


async def test_a_place_outside_the_municipality_is_answered_with_whom_to_contact(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("街灯が切れてる")
    await bot.press("写真なしで進む")
    await bot.say('/report_location{"latitude":35.67966,"longitude":139.73669}')
    assert "デモ区の外" in bot.text and "場所を教えてください" in bot.text
    await bot.say("東京都中央区銀座1-1")
    assert "デモ区の外" in bot.text
    await bot.say('/report_location{"latitude":35.65,"longitude":139.66}')
    assert "この内容でよろしいですか" in bot.text and "桜台付近" in bot.text


async def test_a_photo_reference_of_another_conversation_is_not_taken(bot, services) -> None:  # type: ignore[no-untyped-def]
    async with services.sessionmaker() as s, s.begin():
        s.add(ReportUpload(ref="a" * 32, conversation_id="web:someone-else", file_name="b" * 32 + ".jpg"))
    await bot.say("不法投棄されてる")
    await bot.say('/report_photo{"photo":"' + "a" * 32 + '"}')
    assert "画像として読み取れませんでした" in bot.text and "写真なしで進む" in bot.button_titles


async def test_a_location_alone_starts_a_report(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/report_location{"latitude":35.635,"longitude":139.64}')
    assert "何についての通報" in bot.text
    await bot.press("カラス・害虫")
    await bot.press("写真なしで進む")
    assert "どのような状態" in bot.text  # the place came with the location


async def test_typed_reports_at_the_same_address_are_possible_duplicates(dispatcher, services) -> None:  # type: ignore[no-untyped-def]
    import uuid

    from bot.engine.testing import Conversation
    from knowledge.reports import possible_duplicates

    place = f"港町1-{uuid.uuid4().int % 10_000}"  # an address no other test uses
    numbers = []
    for where in (place, place, "港町2-1"):
        bot = Conversation(dispatcher, sender_id=f"t-{uuid.uuid4().hex[:10]}")
        await bot.say("不法投棄されてる")
        await bot.press("写真なしで進む")
        await bot.say(where)
        await bot.press("はい")
        found = NUMBER.search(bot.text)
        assert found is not None, bot.text
        numbers.append(found.group(0))
    async with services.sessionmaker() as s:
        reports = [await s.scalar(select(Report).where(Report.number == n)) for n in numbers]
        assert all(r is not None and r.place_source == "typed" for r in reports)
        dups = {d.number for d in await possible_duplicates(s, report=reports[1])}  # type: ignore[arg-type]
    assert numbers[0] in dups and numbers[2] not in dups
