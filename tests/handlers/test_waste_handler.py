"""ごみ分別 in chat: items from the separation list, collection days from the catalog."""

from __future__ import annotations

from pathlib import Path

from knowledge.catalog import Catalog
from knowledge.loader import load_knowledge
from knowledge.waste import WasteGuide, import_waste


def guide_of(services) -> WasteGuide:  # type: ignore[no-untyped-def]
    return services.knowledge["waste"]


def catalog_of(services) -> Catalog:  # type: ignore[no-untyped-def]
    return services.knowledge["catalog"]


async def test_item_answer_with_the_lists_note(bot, services) -> None:  # type: ignore[no-untyped-def]
    expected = guide_of(services).lookup("ペットボトル")
    assert expected is not None and expected.note
    await bot.say("ペットボトルは何ごみ？")
    assert bot.last[0].text == expected.sentence
    assert f"「{expected.category}」" in bot.text and expected.note in bot.text
    assert f"{expected.category}の収集日" in bot.button_titles


async def test_kana_variant(bot, services) -> None:  # type: ignore[no-untyped-def]
    expected = guide_of(services).lookup("ペットボトル")
    assert expected is not None
    await bot.say("ぺっとぼとるは何ごみ？")
    assert f"「{expected.category}」" in bot.text


async def test_ambiguous_item_offers_candidates(bot, services) -> None:  # type: ignore[no-untyped-def]
    answer = guide_of(services).lookup("植木鉢")
    assert answer is not None and answer.ambiguous
    await bot.say("植木鉢は何ごみ？")
    names = [c.name for c in answer.candidates]
    assert bot.button_titles == names
    ceramic = next(c for c in answer.candidates if "陶器" in c.name)
    await bot.press(ceramic.name)
    assert f"「{ceramic.name}」は「{ceramic.category}」です" in bot.text
    assert "粗大ごみ" in ceramic.note and "粗大ごみを申し込む" in bot.button_titles  # the note's size limit


async def test_bulky_item_offers_the_bulky_waste_form(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("自転車は何ごみ？")
    assert "「粗大ごみ」" in bot.text
    button = next(b for r in bot.last for b in r.buttons if b.title == "粗大ごみを申し込む")
    assert button.payload == "/bulky_waste"


async def test_unknown_item_is_said_plainly(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("うちゅうせんは何ごみ？")
    office = catalog_of(services).office_of(catalog_of(services).procedure("waste_sorting"))
    assert "見つかりませんでした" in bot.text and office.where in bot.text
    assert "職員と話す" in bot.button_titles


async def test_collection_days_of_a_category_for_every_area(bot, services) -> None:  # type: ignore[no-untyped-def]
    collection = catalog_of(services).waste_collection
    assert collection is not None
    await bot.say("燃えるごみの収集日は？")
    for area in collection.areas:
        assert f"{area.name}（{'・'.join(area.towns)}）：{area.days['燃やすごみ']}" in bot.text
    assert collection.note in bot.text
    await bot.press(collection.areas[1].name)
    assert all(f"{name}：{day}" in bot.text for name, day in collection.areas[1].days.items())


async def test_collection_days_by_town(bot, services) -> None:  # type: ignore[no-untyped-def]
    collection = catalog_of(services).waste_collection
    assert collection is not None
    north = next(a for a in collection.areas if "北町" in a.towns)
    await bot.say("北町のごみの日はいつ？")
    assert f"{north.name}（" in bot.text
    assert f"プラスチック資源：{north.days['プラスチック資源']}" in bot.text


async def test_bulky_waste_collection_is_by_request(bot, services) -> None:  # type: ignore[no-untyped-def]
    collection = catalog_of(services).waste_collection
    assert collection is not None
    await bot.say('/waste_sorting{"schedule":"粗大ごみ"}')
    assert collection.by_request["粗大ごみ"] in bot.text and "粗大ごみを申し込む" in bot.button_titles


async def test_generic_question_gets_the_overview(bot, services) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ごみの分け方を教えて")
    proc = catalog_of(services).procedure("waste_sorting")
    assert proc.summary in bot.text and "ペットボトルは何ごみ？" in bot.text


async def test_the_municipalitys_imported_list_is_used(bot, services, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    own = tmp_path / "own.csv"
    own.write_text(
        '"#property","name","classification","note"\n"1","ペットボトル","資源物（テスト）","つぶしてください"\n',
        encoding="utf-8",
    )
    import_waste(own, settings.data_dir)
    load_knowledge(services)
    await bot.say("ペットボトルは何ごみ？")
    assert "「資源物（テスト）」" in bot.text and "つぶしてください" in bot.text


async def test_typed_town_answers_the_area_question(bot, services) -> None:  # type: ignore[no-untyped-def]
    """QA M5: after "燃えるごみの日はいつ？" the bot offers area buttons; a typed town answers it."""
    collection = catalog_of(services).waste_collection
    assert collection is not None
    central = next(a for a in collection.areas if "本町" in a.towns)
    await bot.say("燃えるごみの日はいつ？")
    assert central.name in bot.button_titles
    await bot.say("本町です")
    assert f"{central.name}（" in bot.text and f"燃やすごみ：{central.days['燃やすごみ']}" in bot.text
    assert "わかりませんでした" not in bot.text


async def test_area_question_then_bare_town(bot, services) -> None:  # type: ignore[no-untyped-def]
    collection = catalog_of(services).waste_collection
    assert collection is not None
    central = next(a for a in collection.areas if "本町" in a.towns)
    await bot.say("ごみの収集日を教えて")
    assert "お住まいの地区" in bot.text
    await bot.say("本町")
    assert all(f"{name}：{day}" in bot.text for name, day in central.days.items())


async def test_a_town_later_is_not_an_answer_any_more(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("燃えるごみの日はいつ？")
    await bot.say("こんにちは")
    await bot.say("本町です")
    assert "収集日" not in bot.text


async def test_town_and_category_day(bot, services) -> None:  # type: ignore[no-untyped-def]
    """QA M5: "本町のプラの日" is the プラ collection day of 本町, not an item called so."""
    collection = catalog_of(services).waste_collection
    assert collection is not None
    central = next(a for a in collection.areas if "本町" in a.towns)
    await bot.say("本町のプラの日")
    assert f"プラスチック資源：{central.days['プラスチック資源']}" in bot.text
    assert "燃やすごみ：" not in bot.text and "見つかりませんでした" not in bot.text
