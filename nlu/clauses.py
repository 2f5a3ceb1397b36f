"""Clauses of one message that may each be a request: "住民票と印鑑証明がほしい",
"体育館を予約したい。あと電池は何ごみ？". Connectives are data (`nlu/cues/clauses.yml`).

    split_clauses("体育館を予約したい。あと電池は何ごみ？")
    # [Clause("体育館を予約したい", weak=False), Clause("電池は何ごみ", weak=False)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nlu.cue_data import load_cues, normalize, word_list

MIN_CLAUSE = 2  # characters: shorter pieces are not requests


@dataclass(frozen=True)
class Clause:
    text: str
    weak: bool  # separated from the next one by a weak connective only ("と")


@cache
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    strong = word_list("clauses", "strong", load_cues("clauses").get("strong"))
    weak = word_list("clauses", "weak", load_cues("clauses").get("weak"))
    by_length = sorted(strong, key=len, reverse=True)
    return (
        re.compile("|".join(re.escape(w) for w in by_length)),
        re.compile("|".join(re.escape(w) for w in weak)),
    )


def split_clauses(text: str) -> list[Clause]:
    strong, weak = _patterns()
    clauses: list[Clause] = []
    for piece in strong.split(normalize(text)):
        parts = weak.split(piece)
        for n, part in enumerate(parts):
            part = part.strip(" 、,")
            if len(part) >= MIN_CLAUSE:
                clauses.append(Clause(part, weak=n < len(parts) - 1))
    return clauses
