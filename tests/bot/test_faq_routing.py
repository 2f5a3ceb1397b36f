"""FAQ first: natural questions reach the municipality's FAQ, whatever intent the NLU guessed.

End to end with the real NLU and the packaged demo FAQ (knowledge/data/demo_faq.csv), plus the
decision rule (`handlers.faq_first.faq_answer`) on hand-made parses so it does not depend on the model.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from bot.engine.events import InboundEvent
from bot.engine.state import ConversationState
from bot.engine.turn import Parse, TurnContext
from handlers.faq_first import FAQ_OVER_INTENT, INTENT_SURE, faq_answer
from knowledge.faq import FaqEntry, FaqIndex, parse_faq_file
from knowledge.loader import DEMO_FAQ


def faq_reply(bot) -> dict | None:  # type: ignore[no-untyped-def,type-arg]
    """The `custom` of the FAQ reply among the last replies, if any."""
    for reply in bot.last:
        if reply.custom and "faq_id" in reply.custom:
            return reply.custom
    return None


def faq_answer_text(question_id: str) -> str:
    return next(e.answer for e in parse_faq_file(DEMO_FAQ) if e.id == question_id)


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("区役所に駐車場はありますか？", "demo-028"),  # NLU: greet
        ("駐車場ある？", "demo-028"),  # NLU: out_of_scope
        ("ハチの巣ができて困っています。", "demo-030"),  # NLU: livelihood_support, unsure
        ("区役所って何時まで開いてる？", "demo-027"),  # NLU: nlu_fallback
        ("土曜日もやってますか", "demo-031"),  # NLU: nlu_fallback
        ("犬を飼い始めたんだけど登録いる？", "demo-029"),  # NLU: out_of_scope, sure
    ],
)
async def test_natural_questions_get_the_faq_answer(bot, text: str, faq_id: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say(text)
    custom = faq_reply(bot)
    assert custom is not None and custom["faq_id"] == faq_id, bot.text
    assert faq_answer_text(faq_id) in bot.text
    assert "わかりませんでした" not in bot.text and "だけをお手伝い" not in bot.text


async def test_a_greeting_still_greets(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("こんにちは")
    assert faq_reply(bot) is None
    assert "窓口案内です" in bot.text


async def test_a_sure_procedure_request_keeps_its_handler(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")  # demo-001 is a confident FAQ hit too; the NLU is sure
    assert faq_reply(bot) is None
    assert "どなたの証明書" in bot.text  # the certificate form started


@pytest.mark.parametrize("text", ["今何時？", "いま何時"])
async def test_a_sure_out_of_scope_question_is_not_answered_by_a_loose_faq_match(bot, text: str) -> None:  # type: ignore[no-untyped-def]
    await bot.say(text)  # shares only 何時 with the opening-hours entry
    assert faq_reply(bot) is None, bot.text
    assert "平日の午前8時30分" not in bot.text


async def test_out_of_scope_without_an_faq_entry_gets_the_out_of_scope_answer(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("明日の天気は？")
    assert faq_reply(bot) is None
    assert "手続きや暮らしのご案内だけをお手伝いしています" in bot.text


async def test_commands_that_always_win_are_not_answered_from_the_faq(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("職員と話したい")
    assert faq_reply(bot) is None


# -- mid-form (M2) -------------------------------------------------------------------------------


async def test_faq_question_mid_form_is_answered_then_the_form_asks_again(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    question = bot.last[-1].text  # what the form asks next
    await bot.say("ハチの巣ができて困ってます")
    custom = faq_reply(bot)
    assert custom is not None and custom["faq_id"] == "demo-030", bot.text
    assert bot.last[0].custom == custom  # the answer first, ...
    assert "続きです" in bot.text and bot.last[-1].text == question  # ... then the same question


async def test_out_of_scope_mid_form_is_said_then_the_form_asks_again(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    question = bot.last[-1].text
    await bot.say("明日の天気は？")
    assert "だけをお手伝いしています" in bot.last[0].text
    assert bot.last[-1].text == question


async def test_an_answer_to_the_form_is_not_taken_by_the_faq(bot) -> None:  # type: ignore[no-untyped-def]
    await bot.say("住民票がほしい")
    await bot.press("ご本人")
    await bot.press("1通")
    await bot.say("郵送で")  # also a confident FAQ hit (戸籍謄本を郵送で…), but a value for the form
    assert faq_reply(bot) is None
    await bot.press("本籍・続柄の記載なし（一般的な証明）")
    assert "受け取り方：郵送" in bot.text


# -- the rule on its own ----------------------------------------------------------------------------

INDEX = FaqIndex(
    [
        FaqEntry("p", "区役所に駐車場はありますか？", "地下に駐車場があります。"),
        FaqEntry("h", "ハチの巣ができて困っています。", "所有者の方にお願いしています。"),
        FaqEntry("j", "住民票の写しはどこで取れますか？", "区民課で請求できます。"),
    ]
)


def ctx_for(text: str, intent: str, confidence: float, *, payload: bool = False, pending: str | None = None):  # type: ignore[no-untyped-def]
    state = ConversationState(conversation_id="web:x", channel="web", sender_id="x", pending_question=pending)
    return TurnContext(
        event=InboundEvent(channel="web", sender_id="x", text=text),
        state=state,
        parse=Parse(text=text, intent=intent, confidence=confidence, from_payload=payload),
        services=SimpleNamespace(knowledge={"faq": INDEX}),  # type: ignore[arg-type]
        today=date(2026, 11, 27),
        db=None,  # type: ignore[arg-type]  # routing only: no database
    )


def test_rule_thresholds_are_ordered() -> None:
    assert 0 < INTENT_SURE < 1 and 0 < FAQ_OVER_INTENT < 1
    from knowledge.faq import CONFIDENCE_THRESHOLD

    assert FAQ_OVER_INTENT > CONFIDENCE_THRESHOLD  # overriding the NLU needs more than the FAQ's own bar


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "answered"),
    [
        ("区役所に駐車場はありますか？", "greet", 0.57, True),  # unsure greeting
        ("区役所に駐車場はありますか？", "greet", 0.99, False),  # the NLU is sure: its handler
        ("駐車場ある？", "out_of_scope", 0.99, True),  # the FAQ knows better than out_of_scope
        ("ハチの巣ができて困っています。", "livelihood_support", 0.57, True),
        ("住民票の写しはどこで取れますか？", "juminhyo", 1.0, False),  # a sure procedure
        ("ハチの巣ができて困っています。", "nlu_fallback", 0.4, True),
        ("ハチの巣ができて困っています。", "cancel", 0.5, False),  # always-first commands
        ("ハチの巣ができて困っています。", "dv_abuse", 0.5, False),
        ("明日の天気は？", "out_of_scope", 1.0, False),  # nothing in the FAQ
    ],
)
def test_rule(text: str, intent: str, confidence: float, answered: bool) -> None:
    assert (faq_answer(ctx_for(text, intent, confidence)) is not None) is answered


def test_rule_skips_buttons_and_open_questions() -> None:
    assert faq_answer(ctx_for("駐車場ある？", "nlu_fallback", 0.4, payload=True)) is None
    assert faq_answer(ctx_for("駐車場ある？", "nlu_fallback", 0.4, pending="consent")) is None


def test_rule_without_an_faq_loaded() -> None:
    ctx = ctx_for("駐車場ある？", "nlu_fallback", 0.4)
    ctx.services = SimpleNamespace(knowledge={})  # type: ignore[assignment]
    assert faq_answer(ctx) is None
