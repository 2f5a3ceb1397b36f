"""Life-event checklists (転入・転出・転居・出生・死亡): the resident's answers pick the catalog's steps."""

from __future__ import annotations

import pytest

from handlers.life_events import applicable_steps
from knowledge.catalog import Catalog


@pytest.fixture
def catalog(services) -> Catalog:  # type: ignore[no-untyped-def]
    return services.knowledge["catalog"]


def titles(catalog: Catalog, event: str, answers: dict[str, bool]) -> list[str]:
    return [catalog.procedure(s.procedure).title for s in applicable_steps(catalog.life_event(event), answers)]


async def answer(bot, *presses: str) -> None:  # type: ignore[no-untyped-def]
    for title in presses:
        await bot.press(title)


async def test_moving_in_from_abroad_with_children(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("海外から引っ越してきました。何をすればいい？")
    assert catalog.procedure("moving_in").deadline in bot.text
    assert "どちらから" not in bot.text  # 海外 came with the first message
    assert "お子さん" in bot.text
    await answer(bot, "はい", "いいえ", "いいえ", "はい", "はい")  # children, school, dog, card, 国保
    assert "引っ越し前：海外から" in bot.text and "犬：いいえ" in bot.text
    await bot.press("はい")
    answers = {
        "from_abroad": True,
        "children": True,
        "school_children": False,
        "dog": False,
        "has_mynumber_card": True,
        "national_health_insurance": True,
    }
    expected = titles(catalog, "moving_in", answers)
    assert all(f"□ {t}" in bot.text for t in expected)
    assert f"必要な手続きは{len(expected)}件です" in bot.text
    assert "□ " + catalog.procedure("dog_registration").title not in bot.text
    assert "□ " + catalog.procedure("school_transfer").title not in bot.text
    assert "パスポート" in bot.text  # the from-abroad documents of the step, not the usual 転出証明書
    assert catalog.life_event("moving_in").title in bot.text
    child_allowance = catalog.procedure("child_allowance")
    assert child_allowance.name in bot.button_titles


async def test_moving_in_from_another_city_with_a_dog(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/moving_in{"start":"yes"}')
    assert "どちらから" in bot.text
    await answer(bot, "ほかの市区町村から", "いいえ")
    assert "小学生" not in bot.text  # only asked when there are children
    await answer(bot, "はい", "いいえ", "いいえ", "はい")
    dog = catalog.procedure("dog_registration")
    assert f"□ {dog.title}｜{dog.deadline}" in bot.text
    assert catalog.office_of(dog).where in bot.text
    assert "転出証明書" in bot.text and "パスポート" not in bot.text
    assert "□ " + catalog.procedure("pension").title not in bot.text


async def test_yes_and_no_in_words(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/moving_within{"start":"yes"}')
    await bot.say("います")
    assert "小学生・中学生" in bot.text
    await bot.say("いません")
    assert "犬を飼っていますか" in bot.text
    await bot.say("いいえ")
    await bot.say("持っていません")
    assert "国民健康保険" in bot.text
    await bot.say("はい")
    assert "18歳までのお子さん：はい" in bot.text and "マイナンバーカード：いいえ" in bot.text


async def test_correction_cancel_and_plain_question(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("転出届の期限は？")
    assert catalog.procedure("moving_out").deadline in bot.text and "お子さん" not in bot.text
    await bot.press("必要な手続きの一覧をつくる")
    await answer(bot, "いいえ", "いいえ", "いいえ", "いいえ", "いいえ")
    assert "この内容でよろしいですか" in bot.text
    await bot.press("変更する")
    await bot.press("犬")
    assert "犬を飼っていますか" in bot.text
    await bot.press("はい")
    assert "犬：はい" in bot.text
    await bot.press("はい")
    assert catalog.procedure("dog_registration").title in bot.text
    await bot.say('/moving_out{"start":"yes"}')
    await bot.press("はい")
    await bot.say("やめる")
    assert "取りやめました" in bot.text


async def test_interruption_then_the_checklist_resumes(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("子どもが生まれました")
    assert catalog.procedure("birth").deadline in bot.text
    await bot.say("児童手当の金額は？")
    assert catalog.procedure("child_allowance").notes[0] in bot.text
    assert "出生の手続き一覧の続きです" in bot.text and "国民健康保険" in bot.text
    await bot.press("いいえ")
    await bot.press("はい")
    for step in applicable_steps(catalog.life_event("birth"), {"national_health_insurance": False}):
        proc = catalog.procedure(step.procedure)
        assert f"□ {proc.title}｜{step.deadline or proc.deadline}" in bot.text
    assert "15日以内" in bot.text and "14日以内" in bot.text


async def test_death_checklist(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("父が亡くなりました")
    assert "お悔やみ" in bot.text and "7日以内" in bot.text
    await answer(bot, "はい", "いいえ", "はい", "いいえ", "はい")
    expected = titles(catalog, "death", {"national_health_insurance": True, "pension_recipient": True})
    assert all(f"□ {t}" in bot.text for t in expected)
    assert "葬祭費" in bot.text
    assert catalog.procedure("household_head_change").title not in bot.text


async def test_information_asked_mid_form_leaves_no_stale_form_behind(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say("子どもが生まれました")
    await bot.say("住民票の手数料はいくら？")  # the certificate handler answers with its card only
    assert catalog.procedure("juminhyo").fees[0].text in bot.text
    assert "出生の手続き一覧の続きです" in bot.text
    await bot.press("いいえ")
    await bot.press("はい")
    assert "必要な手続きは" in bot.text
    assert "先ほどの手続きの続きに戻ります" not in bot.text


async def test_moving_in_qa_sequence_school_answer_in_words(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    """QA H4: "小学生が1人" answers the school question; "犬はいません" then answers the dog question."""
    await bot.say("来週引っ越してきます。手続き何が必要？")
    await bot.say("横浜市から")
    await bot.say("子どもが2人います")
    assert "小学生・中学生はいますか" in bot.text
    await bot.say("小学生が1人")
    assert "犬を飼っていますか" in bot.text
    await bot.say("犬はいません")
    assert "マイナンバーカード" in bot.text
    await bot.say("持っていません")
    await bot.say("会社の保険です")  # not 国民健康保険: an answer, not a question about 国保
    assert "小・中学生：はい" in bot.text and "犬：いいえ" in bot.text and "国民健康保険：いいえ" in bot.text
    await bot.press("はい")
    assert "□ " + catalog.procedure("school_transfer").title in bot.text
    assert "□ " + catalog.procedure("dog_registration").title not in bot.text


async def test_an_answer_to_another_question_is_kept_for_it(bot, catalog: Catalog) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/moving_in{"start":"yes"}')
    await answer(bot, "ほかの市区町村から", "はい")
    assert "小学生・中学生はいますか" in bot.text
    await bot.say("犬はいません")  # does not fit the school question: never taken as its answer
    assert "「犬：いいえ」と承りました" in bot.text and "小学生・中学生はいますか" in bot.text
    await bot.say("はい")
    assert "マイナンバーカード" in bot.text and "犬を飼っていますか" not in bot.text  # dog already answered
    await answer(bot, "はい", "はい")
    assert "小・中学生：はい" in bot.text and "犬：いいえ" in bot.text
    await bot.press("はい")
    assert "□ " + catalog.procedure("school_transfer").title in bot.text


async def test_an_answer_that_fits_no_question_is_asked_again_plainly(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/moving_in{"start":"yes"}')
    await answer(bot, "ほかの市区町村から", "はい")
    await bot.say("2人です")  # how many of them? not a yes or no
    assert "読み取れませんでした" in bot.text and "小学生・中学生はいますか" in bot.text


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("中学生が2人", "はい"),
        ("小1と中2", "はい"),
        ("上の子が小学3年生です", "はい"),
        ("いないです", "いいえ"),
        ("未就学です", "いいえ"),
        ("小学生はいません", "いいえ"),
        ("2人とも保育園です", "いいえ"),
    ],
)
async def test_school_children_answers_in_words(bot, reply: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say('/moving_in{"start":"yes"}')
    await answer(bot, "ほかの市区町村から", "はい")
    await bot.say(reply)
    assert "犬を飼っていますか" in bot.text, bot.text
    await answer(bot, "いいえ", "いいえ", "いいえ")
    assert f"小・中学生：{expected}" in bot.text
