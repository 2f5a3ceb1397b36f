"""The language of a conversation, and the one hook through which its answers change language.

CONTRACTS §9. The dispatcher calls this layer at three points of a turn (marked `# -- languages`
in bot/engine/dispatcher.py) and nothing else in the engine or the handlers knows about languages:

* `observe` (before routing): the turn's language from the resident's own words
  (`nlu.language.detect_language`; a button or a text without letters keeps the conversation's),
  kept in `ConversationState.language`. English stays until the resident writes Japanese again.
  やさしい日本語 starts on request (「やさしい日本語で」「にほんご かんたんに」) and stays until they
  ask for ordinary Japanese; it also starts when the writing suggests it (spaced, mostly hiragana)
  and then lasts while they write that way.
* `answer` (instead of the router): English turns are answered by `handlers.english` from the
  same data; another language gets what the bot can do, in English and やさしい日本語, and a person;
  a bare request for やさしい日本語 is acknowledged. Japanese turns go to the router as before.
* `text` (the engine's own words: hand-off, pending, sorry) and `render` (after everything):
  English words for English turns; やさしい日本語 turns rewritten by `handlers.easy_japanese`.
"""

from __future__ import annotations

import re

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.easy_japanese import EASY_REQUEST, PLAIN_REQUEST, easy_reply
from handlers.english import answer_in_english, staff_button
from knowledge.english import EnglishTexts
from nlu.language import detect_language

EASY_REQUESTED = "easy_ja_requested"  # state.data key: asked for, so it outlasts kanji they write
SWITCH_MIN_WORDS = 3  # Latin words needed to turn a Japanese chat that has begun into English
_LATIN_WORDS = re.compile(r"[A-Za-z]+")
_REQUEST_ONLY_LEFT = 4  # letters left after the request phrase: fewer means the message was only that
_ENGINE_TEXT_KEYS = {
    "handoff.requested": "handoff_requested",
    "handoff.stuck": "handoff_stuck",
    "handoff.sensitive": "handoff_sensitive",
    "pending": "pending",
    "withdrawn": "withdrawn",
    "sorry": "sorry",
}


class LanguageLayer:
    def __init__(self, texts: EnglishTexts | None = None) -> None:
        self._texts = texts

    def texts(self, ctx: TurnContext) -> EnglishTexts:
        if self._texts is None:
            loaded = ctx.services.knowledge.get("english")
            self._texts = (
                loaded if isinstance(loaded, EnglishTexts) else EnglishTexts.load(ctx.services.settings.data_dir)
            )
        return self._texts

    def observe(self, ctx: TurnContext) -> None:
        """Set the turn's (and the conversation's) language from this message."""
        state, event = ctx.state, ctx.event
        if ctx.parse.from_payload or event.kind != "message":
            return
        text = event.text
        if EASY_REQUEST.search(text):
            state.data[EASY_REQUESTED] = True
            state.language = "easy_ja"
            return
        if PLAIN_REQUEST.search(text):
            state.data.pop(EASY_REQUESTED, None)
            state.language = "ja"
            return
        detected = ctx.parse.language or detect_language(text)
        if detected is None:
            return
        if detected in ("en", "other") and _stays_japanese(ctx, text):
            return
        if detected == "other" and state.language == "en" and text.isascii():
            detected = "en"  # Latin words in an English chat: a typo more likely than French
        if detected == "ja" and state.data.get(EASY_REQUESTED):
            detected = "easy_ja"
        if detected in ("en", "other"):
            state.data.pop(EASY_REQUESTED, None)
        state.language = detected

    async def answer(self, ctx: TurnContext) -> bool:
        """Answer the turn here (True) or leave it to the router (False)."""
        language = ctx.state.language
        if language == "en":
            await answer_in_english(ctx, self.texts(ctx))
            return True
        if language == "other" and not ctx.parse.from_payload and ctx.parse.intent != "request_human":
            texts = self.texts(ctx)
            ctx.handled_by = "other_language"
            ctx.say(
                texts.message("other_language"),
                buttons=[staff_button(texts), Button("やさしい にほんご", "やさしい日本語で")],
            )
            return True
        if language == "easy_ja" and _only_the_request(ctx.event.text):
            ctx.handled_by = "easy_ja"
            ctx.say(self.texts(ctx).message("easy_on"), buttons=[Button("メニュー", payload("bot_capabilities"))])
            return True
        return False

    def text(self, ctx: TurnContext, key: str, japanese: str) -> str:
        """The engine's own words (`key` in `_ENGINE_TEXT_KEYS`), in the turn's language."""
        if ctx.state.language in ("en", "other") and key in _ENGINE_TEXT_KEYS:
            return self.texts(ctx).message(_ENGINE_TEXT_KEYS[key]) or japanese
        return japanese

    def render(self, ctx: TurnContext) -> None:
        """Last step before the replies are stored and sent: やさしい日本語 when the turn is in it."""
        if ctx.state.language == "easy_ja":
            ctx.replies = [easy_reply(r) if r.sender == "bot" else r for r in ctx.replies]


def _stays_japanese(ctx: TurnContext, text: str) -> bool:
    """A word or two in Latin letters ("OK", "yes", "thanks", "3F") inside a Japanese chat that has
    begun, or while a form waits: not a change of language."""
    japanese = ctx.state.language in ("ja", "easy_ja")
    begun = ctx.state.turn > 0 or ctx.state.active_form is not None
    return japanese and begun and len(_LATIN_WORDS.findall(text)) < SWITCH_MIN_WORDS


def _only_the_request(text: str) -> bool:
    rest = EASY_REQUEST.sub("", text)
    rest = re.sub(r"(?:で|に|して|ください|おねがい|お願い|します|です|を|は|ね|[\s、。!！?？ー〜])", "", rest)
    return len(rest) < _REQUEST_ONLY_LEFT
