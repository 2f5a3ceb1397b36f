"""Which language a resident wrote in: Japanese, やさしい日本語, English or another language.

A cheap script check comes first, so a Japanese message pays nothing: any kana or kanji means
Japanese (Chinese without kana is rare here and safest answered as Japanese). Japanese written
with spaces between short words and hardly a kanji (「じゅうみんひょう ほしい です」) is the
writing of a learner: やさしい日本語 (`easy_ja`). Latin script goes to py3langid (langid.py's
maintained fork: offline, a bundled model, numpy only), restricted to the Latin-script languages
foreign residents in Japan write most, with English favoured on short texts where a detector
guesses wildly ("thanks" → Xhosa). Hangul, Thai, Cyrillic, Devanagari… are another language.
A text with no letters ("3", "!!") says nothing: None, and the conversation keeps its language.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any, Literal

Language = Literal["ja", "easy_ja", "en", "other"]

_KANA = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f]")
_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HIRAGANA = re.compile(r"[\u3041-\u309f]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
# Latin-script languages a detector may choose from; the most written by residents from abroad
_LATIN_LANGUAGES = ("en", "pt", "es", "tl", "id", "vi", "fr", "de", "it", "ms", "nl")
# Words that make a short Latin text English even when the detector hesitates
_ENGLISH_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "i",
        "you",
        "he",
        "she",
        "we",
        "they",
        "it",
        "is",
        "are",
        "am",
        "was",
        "be",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "my",
        "me",
        "your",
        "our",
        "what",
        "where",
        "when",
        "how",
        "who",
        "which",
        "why",
        "please",
        "thanks",
        "thank",
        "hello",
        "hi",
        "hey",
        "yes",
        "no",
        "ok",
        "okay",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "with",
        "and",
        "or",
        "not",
        "need",
        "want",
        "get",
        "help",
        "talk",
        "someone",
        "speak",
        "english",
        "about",
        "this",
        "that",
        "there",
        "here",
        "have",
        "has",
        "bye",
        "goodbye",
        "sorry",
    ]
)
# Scripts that are neither Japanese nor Latin: another language for sure
_OTHER_SCRIPTS = re.compile(
    r"[\uac00-\ud7af\u1100-\u11ff\u0e00-\u0e7f\u0400-\u04ff\u0900-\u097f\u0600-\u06ff\u1000-\u109f\u0980-\u09ff]"
)
EASY_MIN_HIRAGANA_SHARE = 0.8
EASY_MIN_SPACES = 1


def _letters(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch)[0] == "L"]


def is_easy_japanese(text: str) -> bool:
    """Spaced, mostly-hiragana Japanese (「ぜいきん の しょうめいしょ が ほしい です」)."""
    norm = unicodedata.normalize("NFKC", text).strip()
    letters = _letters(norm)
    if len(letters) < 4 or norm.count(" ") < EASY_MIN_SPACES:
        return False
    words = norm.split()
    if len(words) < 2:
        return False
    hira = sum(1 for ch in letters if _HIRAGANA.match(ch))
    return hira / len(letters) >= EASY_MIN_HIRAGANA_SHARE and not _KANJI.search(norm[: len(norm)])


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE)  # our own: the module's global stays unrestricted
    ident.set_languages(list(_LATIN_LANGUAGES))
    return ident


def _latin_language(text: str) -> Language:
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    english_words = sum(1 for w in words if w in _ENGLISH_WORDS)
    if english_words and english_words * 3 >= len(words):
        return "en"
    if len(words) <= 2:  # too short for a detector: English is the lingua franca of the chat
        return "en"
    lang, _prob = _identifier().classify(text)
    return "en" if lang == "en" else "other"


def detect_language(text: str) -> Language | None:
    """The language of `text`, or None when it has no letters to tell by."""
    if not isinstance(text, str):
        return None
    if _KANA.search(text) or _KANJI.search(text):
        return "easy_ja" if is_easy_japanese(text) else "ja"
    if _OTHER_SCRIPTS.search(text):
        return "other"
    if not _LATIN_WORD.search(unicodedata.normalize("NFKC", text)):
        return None
    return _latin_language(unicodedata.normalize("NFKC", text))
