"""Which facet of a procedure a question asks about: fee, hours, place, documents, who, proxy,
online, mail, convenience store, deadline, lost/reissue, payment dates, eligibility.

    detect_facet("住民票ってコンビニで取れますか")  # "convenience"
    detect_facet("住民票がほしい")                  # None: no facet, the whole card

The cues are data (`nlu/cues/facets.yml`); their order is the priority.
"""

from __future__ import annotations

import re
from functools import cache

from nlu.cue_data import CueDataError, load_cues, normalize, word_list

FACETS = (
    "lost",
    "payment",
    "convenience",
    "mail",
    "online",
    "proxy",
    "deadline",
    "hours",
    "place",
    "fee",
    "documents",
    "eligibility",
    "who",
)


@cache
def facet_cues() -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = load_cues("facets").get("facets")
    if not isinstance(raw, dict):
        raise CueDataError("nlu/cues/facets.yml: facets: must be a mapping of facet -> words")
    unknown = [k for k in raw if k not in FACETS]
    if unknown:
        raise CueDataError(f"nlu/cues/facets.yml: facets: unknown facet(s) {', '.join(unknown)}")
    return tuple((name, word_list("facets", f"facets.{name}", words)) for name, words in raw.items())


_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_WORD_END = r"(?:s|es|ing|ed)?(?![a-z])"


def is_english(text: str) -> bool:
    """Latin letters and no kana or kanji: the English cues apply."""
    return not _JAPANESE.search(text) and re.search(r"[A-Za-z]", text) is not None


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w.lower()) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z])(?:{alternatives}){_WORD_END}")


@cache
def facet_cues_en() -> tuple[tuple[str, re.Pattern[str]], ...]:
    raw = load_cues("facets").get("facets_en")
    if not isinstance(raw, dict):
        raise CueDataError("nlu/cues/facets.yml: facets_en: must be a mapping of facet -> words")
    unknown = [k for k in raw if k not in FACETS]
    if unknown:
        raise CueDataError(f"nlu/cues/facets.yml: facets_en: unknown facet(s) {', '.join(unknown)}")
    return tuple((name, _word_pattern(word_list("facets", f"facets_en.{name}", words))) for name, words in raw.items())


def detect_facet(text: str) -> str | None:
    """The first facet (in the data's order) one of whose cues the message contains; English cues
    (whole words) for an English message."""
    norm = normalize(text)
    if is_english(norm):
        low = norm.lower().replace("’", "'")
        return next((name for name, pattern in facet_cues_en() if pattern.search(low)), None)
    for name, cues in facet_cues():
        if any(cue in norm for cue in cues):
            return name
    return None


HOURS_DETAILS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "weekend", "holiday", "year_end", "close", "open")


@cache
def _hours_detail_cues() -> tuple[tuple[str, tuple[str, ...]], ...]:
    raw = load_cues("facets").get("hours_detail")
    if not isinstance(raw, dict) or any(k not in HOURS_DETAILS for k in raw):
        raise CueDataError(f"nlu/cues/facets.yml: hours_detail: a mapping of {', '.join(HOURS_DETAILS)} -> words")
    return tuple((k, word_list("facets", f"hours_detail.{k}", v)) for k, v in raw.items())


def hours_details(text: str) -> tuple[str, ...]:
    """Which days and times an hours question asks about: weekdays (mon … sun; the weekend is sat
    and sun), "holiday", "year_end", "close" (until when), "open" (from when); in the data's order."""
    norm = normalize(text).lower()
    found: list[str] = []
    for key, cues in _hours_detail_cues():
        if any(cue.lower() in norm for cue in cues):
            found.extend(("sat", "sun") if key == "weekend" else (key,))
    return tuple(dict.fromkeys(found))


@cache
def _question_endings() -> tuple[str, ...]:
    return word_list("facets", "question_endings", load_cues("facets").get("question_endings"))


@cache
def _question_starts_en() -> tuple[str, ...]:
    return word_list("facets", "question_starts_en", load_cues("facets").get("question_starts_en"))


def facet_question(text: str) -> str | None:
    """The facet asked when the message is a question about one ("手数料はいくら？"), else None."""
    if is_english(normalize(text)):
        low = normalize(text).strip().lower()
        first = low.split()[0] if low.split() else ""
        return detect_facet(low) if low.endswith("?") or first in _question_starts_en() else None
    norm = normalize(text).strip().rstrip("。.!！ ")
    if not norm.endswith(_question_endings()):
        return None
    return detect_facet(norm)
