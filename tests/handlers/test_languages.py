"""CONTRACTS §9 end to end through the `bot` fixture and the REST API: English answered in English
(procedures, FAQ, ごみ, hand-off) until Japanese comes back; やさしい日本語 on request and when the
writing suggests it; facts from the same data in every language; other languages get a person."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient

from bot.engine.testing import Conversation
from knowledge.catalog import Catalog

URL = "/webhooks/rest/webhook"
KANA = re.compile(r"[\u3041-\u30ff]")


def _japanese_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(1 for ch in letters if not ch.isascii()) / max(1, len(letters))


def _english(text: str) -> bool:
    return _japanese_share(text) < 0.25


def _catalog(bot: Conversation) -> Catalog:
    return bot.dispatcher.services.knowledge["catalog"]


async def _state(bot: Conversation):  # type: ignore[no-untyped-def]
    return await bot.dispatcher.services.state.get(f"web:{bot.sender_id}")


async def test_english_procedure_answer_has_the_catalog_facts(bot: Conversation) -> None:
    await bot.say("How much is a residence certificate and where do I get it?")
    assert _english(bot.last[0].text)
    proc = _catalog(bot).procedure("juminhyo")
    fee = proc.fees[0].amount
    assert f"{fee:,} yen" in bot.text  # the fee of procedures.yml, not re-typed
    assert _catalog(bot).office_of(proc).name in bot.text
    assert "Talk to staff" in bot.button_titles
    assert (await _state(bot)).language == "en"


async def test_english_stays_until_japanese_comes_back(bot: Conversation) -> None:
    await bot.say("hello")
    assert _english(bot.text)
    await bot.say("3")  # no letters: the conversation keeps its language
    assert _english(bot.last[0].text)
    await bot.say("住民票がほしいです")
    assert not _english(bot.last[0].text)
    assert (await _state(bot)).language == "ja"


async def test_english_request_for_a_person_is_a_handoff_in_english(bot: Conversation) -> None:
    await bot.say("Can I talk to someone who speaks English?")
    state = await _state(bot)
    assert state.status == "pending_handoff"
    assert _english(bot.text)
    await bot.say("are you there?")
    assert _english(bot.text)


async def test_english_dv_is_escalated_with_the_safety_line_first(bot: Conversation) -> None:
    await bot.say("my husband hits me and I am scared")
    assert (await _state(bot)).status == "pending_handoff"
    assert "110" in bot.last[0].text
    assert _english(bot.text)


async def test_english_waste_item_gets_the_category_of_the_japanese_list(bot: Conversation) -> None:
    await bot.say("How do I throw away batteries?")
    guide = bot.dispatcher.services.knowledge["waste"]
    category = guide.lookup("乾電池").category
    assert category in bot.text
    assert _english(bot.last[0].text.replace(category, ""))


async def test_english_faq_question_gets_the_faq_answer_with_an_english_note(bot: Conversation) -> None:
    await bot.say("Is there parking at the ward office?")
    reply = bot.last[0]
    assert reply.custom and reply.custom.get("faq_id")
    assert "FAQ" in reply.text


async def test_english_booking_runs_the_form_in_english(bot: Conversation) -> None:
    # Stop 20: the booking forms run in English (tests/handlers/test_english_forms.py end to end).
    await bot.say("I want to throw away a sofa, can you book a collection?")
    assert "bulky waste collection" in bot.last[0].text and "Japanese" not in bot.text
    assert "The fee depends on the size" in bot.text and "Cancel" in bot.button_titles


async def test_english_fallback_and_out_of_scope_are_english(bot: Conversation) -> None:
    await bot.say("what's the weather tomorrow?")
    assert _english(bot.text)
    await bot.say("blorp zzzt qwerty")
    assert _english(bot.text)


async def test_other_language_gets_english_and_easy_japanese_and_a_person(bot: Conversation) -> None:
    await bot.say("Bonjour, je voudrais un certificat de résidence")
    text = bot.last[0].text
    assert "English" in text and KANA.search(text)
    assert any("staff" in t.lower() for t in bot.button_titles)


async def test_easy_japanese_on_request_gives_readings_from_the_same_data(bot: Conversation) -> None:
    await bot.say("やさしい日本語でお願いします")
    assert (await _state(bot)).language == "easy_ja"
    await bot.say("住民票がほしい")
    proc = _catalog(bot).procedure("juminhyo")
    assert "(じゅうみんひょう)" in bot.text  # kanji with readings
    assert f"{proc.fees[0].amount}" in bot.text.replace(",", "")  # the same fee
    # it lasts while they write ordinary Japanese, until they ask for it back
    await bot.say("普通の日本語で")
    await bot.say("住民票がほしい")
    assert "(じゅうみんひょう)" not in bot.text


async def test_easy_japanese_detected_from_spaced_hiragana(bot: Conversation) -> None:
    await bot.say("じゅうみんひょう が ほしい です")
    assert (await _state(bot)).language == "easy_ja"
    assert re.search(r"[\u4e00-\u9fff]+\([\u3041-\u309f]+\)", bot.text)
    lines = [line for r in bot.last for line in r.text.splitlines() if line]
    assert len(lines) >= 3 and min(len(line) for line in lines) < 40, lines  # short sentences, a line each


async def test_japanese_turns_are_unchanged(bot: Conversation) -> None:
    await bot.say("住民票がほしい")
    assert "(じゅうみんひょう)" not in bot.text
    assert (await _state(bot)).language == "ja"


def test_rest_api_english_conversation(client: TestClient) -> None:
    who = f"t-{uuid.uuid4().hex[:8]}"
    res = client.post(URL, json={"sender": who, "message": "Hi, how do I register a birth?"})
    assert res.status_code == 200
    body = res.json()
    assert body and _english(body[0]["text"])
    res = client.post(URL, json={"sender": who, "message": "thanks"})
    assert _english(res.json()[0]["text"])


def test_model_parse_answers_the_english_intent(client: TestClient) -> None:
    res = client.post("/model/parse", json={"text": "Can I talk to someone who speaks English?"})
    assert res.status_code == 200
    assert res.json()["intent"]["name"] == "request_human"


async def test_a_latin_word_in_a_japanese_chat_is_not_a_switch(bot: Conversation) -> None:
    await bot.say("住民票がほしい")
    await bot.say("OK")
    assert (await _state(bot)).language == "ja"
    await bot.say("Sorry, can you answer in English please?")
    assert (await _state(bot)).language == "en"
