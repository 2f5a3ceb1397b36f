"""Safety routing: violence means DV / abuse, money, housing and food trouble mean 生活困窮.

    safety_intent("仕事をなくして家賃が払えません。助けて", "dv_abuse")  # "livelihood_support"
    safety_intent("お金のことで夫に殴られる", "livelihood_support")        # "dv_abuse"
    strong_distress("お金がなくて、もう限界です")                          # True

Cues are data (`nlu/cues/safety.yml`). Where violence is mentioned the answer is always DV.
"""

from __future__ import annotations

from functools import cache

from nlu.cue_data import load_cues, normalize, word_list

DV = "dv_abuse"
LIVELIHOOD = "livelihood_support"


@cache
def _cues(key: str) -> tuple[str, ...]:
    return word_list("safety", key, load_cues("safety").get(key))


def _has(text: str, key: str) -> bool:
    norm = normalize(text)
    return any(cue in norm for cue in _cues(key))


def mentions_violence(text: str) -> bool:
    return _has(text, "violence")


def mentions_hardship(text: str) -> bool:
    return _has(text, "hardship")


def strong_distress(text: str) -> bool:
    return _has(text, "distress")


def safety_intent(text: str, intent: str) -> str | None:
    """The intent safety routing replaces `intent` with, or None to keep it."""
    if intent == DV:
        return LIVELIHOOD if mentions_hardship(text) and not mentions_violence(text) else None
    if intent == LIVELIHOOD and mentions_violence(text):
        return DV
    return None
