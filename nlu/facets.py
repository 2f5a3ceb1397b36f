"""Which facet of a procedure a question asks about: fee, hours, place, documents, who, proxy,
online, mail, convenience store, deadline, lost/reissue, payment dates, eligibility.

    detect_facet("住民票ってコンビニで取れますか")  # "convenience"
    detect_facet("住民票がほしい")                  # None: no facet, the whole card

The cues are data (`nlu/cues/facets.yml`); their order is the priority.
"""

from __future__ import annotations

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


def detect_facet(text: str) -> str | None:
    """The first facet (in the data's order) one of whose cues the message contains."""
    norm = normalize(text)
    for name, cues in facet_cues():
        if any(cue in norm for cue in cues):
            return name
    return None


@cache
def _question_endings() -> tuple[str, ...]:
    return word_list("facets", "question_endings", load_cues("facets").get("question_endings"))


def facet_question(text: str) -> str | None:
    """The facet asked when the message is a question about one ("手数料はいくら？"), else None."""
    norm = normalize(text).strip().rstrip("。.!！ ")
    if not norm.endswith(_question_endings()):
        return None
    return detect_facet(norm)
