"""Two requests in one message (issue 15 item 2): both recognised, taken one after the other."""

from __future__ import annotations

from nlu.clauses import split_clauses


def test_clauses_split_on_connectives_from_data() -> None:
    assert len(split_clauses("体育館を予約したい。あと電池は何ごみ？")) == 2
    assert len(split_clauses("住民票がほしい")) == 1


async def test_two_information_requests_are_both_answered(bot, services) -> None:  # type: ignore[no-untyped-def]
    catalog = services.knowledge["catalog"]
    await bot.say("転入届と児童手当の手続きをしたい")
    titles = [r.card.title for r in bot.last if r.card]
    assert catalog.procedure("moving_in").title in bot.text
    assert catalog.procedure("child_allowance").title in titles


async def test_the_second_request_waits_for_the_first_form(bot, services) -> None:  # type: ignore[no-untyped-def]
    catalog = services.knowledge["catalog"]
    await bot.say("住民票と戸籍謄本を取りたい")
    koseki = catalog.procedure("koseki")
    assert koseki.name in bot.last[0].text  # announced first
    assert koseki.title not in [r.card.title for r in bot.last if r.card]  # not answered yet
    await bot.say("やめる")  # the first form is over (and so is the queue: the resident cancelled)
    assert koseki.title not in [r.card.title for r in bot.last if r.card]


async def test_the_second_request_follows_when_the_first_form_ends(bot, services) -> None:  # type: ignore[no-untyped-def]
    catalog = services.knowledge["catalog"]
    koseki = catalog.procedure("koseki")
    await bot.say("住民票と戸籍謄本を取りたい")
    for answer in ("本人です", "1通", "本籍なし", "窓口で"):
        await bot.say(answer)
        assert koseki.title not in bot.text  # still the first request's form
    await bot.say("はい")  # the first form is done: the second request follows in the same turn
    assert koseki.title in [r.card.title for r in bot.last if r.card]


async def test_one_item_list_is_not_two_requests(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("ベッドとタンスを出したい")
    assert "ご用件が" not in bot.text


async def test_a_question_in_the_middle_of_a_form_is_answered_then_asked_again(bot, services) -> None:  # type: ignore[no-untyped-def]
    proc = services.knowledge["catalog"].procedure("juminhyo")
    await bot.say("住民票がほしい")
    await bot.say("本人です")
    question = bot.last[-1].text
    await bot.say("コンビニでも取れますか")
    assert f"{proc.convenience.fee}円" in bot.last[0].text
    assert bot.last[-1].text == question  # the form asks its question again
    await bot.say("2通")
    assert bot.last[-1].text != question  # the answer was taken: the form moves on


async def test_a_slot_answer_shaped_like_a_question_still_fills_the_slot(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票を1通ほしい、本人です")
    await bot.say("本籍なし")
    await bot.say("郵送でお願いできますか")
    assert "この内容でよろしいですか" in bot.text and "郵送" in bot.text


async def test_a_change_of_mind_mid_form_is_followed_and_the_first_form_offered_later(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.say("やっぱり印鑑証明にします")
    assert "印鑑" in bot.text
    for answer in ("本人です", "1通", "窓口で", "はい"):
        await bot.say(answer)
        if "先ほどの手続き" in bot.text:
            break
    assert "先ほどの手続き" in bot.text  # back to the paused 住民票 form
