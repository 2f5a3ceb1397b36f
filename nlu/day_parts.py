"""A time of day said in one word (ごご, 午前, あさ, ゆうがた, "afternoon") as a span of hours.

    day_part("ごご")          # ("12:00", "18:00")
    day_part("午後1時から")    # None: more than the one word (the time parser reads it)

The words and spans are data (`nlu/cues/day_parts.yml`).
"""

from __future__ import annotations

from functools import cache

from nlu.cue_data import CueDataError, load_cues, normalize, word_list


@cache
def _parts() -> tuple[tuple[tuple[str, ...], tuple[str, str]], ...]:
    raw = load_cues("day_parts").get("day_parts")
    if not isinstance(raw, dict):
        raise CueDataError("nlu/cues/day_parts.yml: day_parts: must be a mapping")
    out = []
    for name, entry in raw.items():
        span = str(entry.get("span", "")) if isinstance(entry, dict) else ""
        if "-" not in span:
            raise CueDataError(f"nlu/cues/day_parts.yml: day_parts.{name}.span: HH:MM-HH:MM")
        start, end = span.split("-", 1)
        words = word_list("day_parts", f"day_parts.{name}.words", entry.get("words"))
        out.append((tuple(w.lower() for w in words), (start, end)))
    return tuple(out)


@cache
def _fillers() -> tuple[str, ...]:
    words = word_list("day_parts", "fillers", load_cues("day_parts").get("fillers"))
    return tuple(sorted((w.lower() for w in words), key=len, reverse=True))


def day_part(text: str) -> tuple[str, str] | None:
    """The span of the one time-of-day word the message is (fillers aside), else None."""
    rest = normalize(text).strip().lower()
    for filler in _fillers():
        rest = rest.replace(filler, " ")
    rest = " ".join(rest.split())
    for words, span in _parts():
        if rest in words:
            return span
    return None


def pick(spans: list[tuple[str, str]], part: tuple[str, str]) -> list[int]:
    """Indexes of the spans inside the part's hours, else of those overlapping them."""
    inside = [i for i, (a, b) in enumerate(spans) if part[0] <= a and b <= part[1]]
    return inside or [i for i, (a, b) in enumerate(spans) if a < part[1] and part[0] < b]
