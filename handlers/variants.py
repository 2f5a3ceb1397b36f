"""Writing variants (issue 15 item 5): words in kana where the data has kanji, and a misread
answered with a "did you mean" choice instead of a bare fallback.

* `reading` / `reading_in`: the hiragana reading of a text (Sudachi's readings, as for
  やさしい日本語), so きたまち finds 北町 and もえないごみ finds 燃やさないごみ's everyday word
  燃えない — without a list of kana spellings.
* `did_you_mean`: when the NLU could not place a message, the procedures it hesitated between
  (its ranking, not a list of phrases), offered as buttons.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from nlu.text import readings

DID_YOU_MEAN_MIN = 0.08  # the NLU's confidence for a candidate worth offering
DID_YOU_MEAN_MAX = 3
MIN_READING = 3  # kana: shorter readings (かん, びん) match inside too many other words


@lru_cache(maxsize=4096)
def reading(text: str) -> str:
    """Hiragana reading of `text` (kanji read, katakana turned to hiragana, spaces dropped)."""
    norm = unicodedata.normalize("NFKC", text)
    return "".join(hira for _surface, hira in readings(norm)).replace(" ", "")


def reading_in(word: str, text: str) -> bool:
    """Is `word` in `text` when both are read aloud (北町 in 「きたまち の ごみ」)?"""
    said = reading(word)
    return len(said) >= MIN_READING and said in reading(text)


def did_you_mean(ctx: TurnContext) -> list[tuple[str, str]]:
    """(intent, title) of the catalog procedures the NLU hesitated between, best first."""
    catalog = ctx.services.knowledge.catalog
    if catalog is None or ctx.parse.from_payload:
        return []
    out: list[tuple[str, str]] = []
    for entry in ctx.parse.ranking:
        name, confidence = str(entry.get("name")), float(entry.get("confidence") or 0.0)
        if confidence >= DID_YOU_MEAN_MIN and catalog.is_procedure_intent(name):
            proc = catalog.procedure(name)
            out.append((name, proc.short or proc.title))
    return out[:DID_YOU_MEAN_MAX]


def say_did_you_mean(ctx: TurnContext) -> bool:
    """Offer the candidates as buttons (True), or nothing to offer (False)."""
    choices = did_you_mean(ctx)
    if not choices:
        return False
    buttons = [Button(title, payload(intent)) for intent, title in choices]
    buttons.append(Button("職員と話す", payload("request_human")))
    ctx.say("もしかして、次のどれかのことですか？ 当てはまるものを選んでください。", buttons=buttons)
    return True
