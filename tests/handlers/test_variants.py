"""Writing variants (issue 15 item 5): hiragana-only requests, place names and everyday category
names in kana, and a misread answered with a "did you mean" choice rather than a fallback."""

from __future__ import annotations

import re

from bot.engine.testing import Conversation


def _catalog(bot: Conversation):  # type: ignore[no-untyped-def]
    return bot.dispatcher.services.knowledge["catalog"]


async def test_hiragana_only_request_is_understood(bot: Conversation) -> None:
    await bot.say("じゅうみんひょう ほしい")
    proc = _catalog(bot).procedure("juminhyo")
    assert str(proc.fees[0].amount) in bot.text.replace(",", "")


async def test_place_and_category_in_kana_get_the_areas_day(bot: Conversation) -> None:
    collection = _catalog(bot).waste_collection
    north = next(a for a in collection.areas if "北町" in a.towns)
    day = north.days["燃やさないごみ"]
    await bot.say("きたまち の もえないごみ は なんようび")
    plain = re.sub(r"\([\u3041-\u309f]+\)", "", bot.text)  # spaced hiragana: answered with readings
    assert day.split("（")[0] in plain


async def test_misread_gets_a_did_you_mean_choice(bot: Conversation) -> None:
    await bot.say("じゅうしょ かわった")
    payloads = [b.payload for r in bot.last for b in r.buttons]
    catalog = _catalog(bot)
    offered = [p.lstrip("/") for p in payloads if catalog.is_procedure_intent(p.lstrip("/"))]
    assert len(offered) >= 2
    assert "/request_human" in payloads
    await bot.press(bot.last[-1].buttons[0].title)
    assert bot.last and bot.last[0].card is not None  # the chosen procedure is answered
