"""English entities, in the same values as the Japanese ones (CONTRACTS §2): `date` (ISO),
`time` (HH:MM), `count`, `age`, `relation`. Cheap patterns for what residents write: "tomorrow",
"next Tuesday", "on Friday", "Dec 5", "5 December", "12/20", "the 10th", "3pm", "10:30 am", "two copies",
"2 years old", "my husband"."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from typing import Any

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NUMBERS = {
    w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"])
}
_NUM = r"(\d{1,2}|" + "|".join(_NUMBERS) + r"|a|an)"
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
# A weekday written out or as its usual short form ("Sat", "Tues"): never the start of a name ("Sato").
_WD = r"(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs?(?:day)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?(?![a-z])"

_RELATIVE = re.compile(r"\b(day after tomorrow|tomorrow|today|tonight)\b", re.I)
_IN_DAYS = re.compile(r"\bin " + _NUM + r" days?\b", re.I)
_WEEKDAY = re.compile(r"\b(?:(next|this|coming|on)\s+)?" + _WD + r"\b", re.I)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?\b", re.I)
_DAY_MONTH = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH + r"(?![a-z])", re.I)
_NTH = re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+(?:of\s+)?" + _MONTH + r")", re.I)  # "the 10th"
_SLASH = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)(?![a-z])|\b(\d{1,2}):(\d{2})\b", re.I)
_COUNT = re.compile(r"\b" + _NUM + r"\s+(copies|copy|sheets?|certificates?|people|persons?)\b", re.I)
_AGE = re.compile(r"\b(\d{1,3})[\s-]*(?:years?|yrs?)[\s-]*old\b|\b(\d{1,3})[\s-]*(?:months?)[\s-]*old\b", re.I)
_RELATIONS = {
    "spouse": r"husband|wife|spouse|partner",
    "child": r"son|daughter|child|kid|baby",
    "father": r"father|dad",
    "mother": r"mother|mom|mum",
    "grandmother": r"grandmother|grandma",
    "grandfather": r"grandfather|grandpa",
    "sibling": r"brother|sister",
}
_RELATION = re.compile(r"\bmy\s+(" + "|".join(_RELATIONS.values()) + r")s?\b", re.I)


def _number(word: str) -> int:
    word = word.lower()
    if word in ("a", "an"):
        return 1
    return _NUMBERS[word] if word in _NUMBERS else int(word)


def _future(today: dt.date, month: int, day: int) -> dt.date | None:
    try:
        value = dt.date(today.year, month, day)
        return value if value >= today else dt.date(today.year + 1, month, day)
    except ValueError:
        return None


def _weekday(today: dt.date, modifier: str | None, name: str) -> dt.date:
    target = _WEEKDAYS.index(next(w for w in _WEEKDAYS if w.startswith(name.lower()[:3])))
    ahead = (target - today.weekday()) % 7
    if (modifier or "").lower() == "next":  # "next Tuesday": in the coming week, never today
        start = today + dt.timedelta(days=7 - today.weekday())
        return start + dt.timedelta(days=target)
    return today + dt.timedelta(days=ahead or 7 if (modifier or "").lower() != "this" else ahead)


def _dates(text: str, today: dt.date) -> list[tuple[int, int, dt.date]]:
    found: list[tuple[int, int, dt.date]] = []
    for m in _RELATIVE.finditer(text):
        offset = {"today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2}[m.group(1).lower()]
        found.append((m.start(), m.end(), today + dt.timedelta(days=offset)))
    for m in _IN_DAYS.finditer(text):
        found.append((m.start(), m.end(), today + dt.timedelta(days=_number(m.group(1)))))
    for m in _WEEKDAY.finditer(text):
        found.append((m.start(), m.end(), _weekday(today, m.group(1), m.group(2))))
    for pattern, mi, di in ((_MONTH_DAY, 1, 2), (_DAY_MONTH, 2, 1)):
        for m in pattern.finditer(text):
            value = _future(today, _MONTHS.index(m.group(mi).lower()[:3]) + 1, int(m.group(di)))
            if value:
                found.append((m.start(), m.end(), value))
    for m in _NTH.finditer(text):  # "the 10th": this month's, else next month's
        day = int(m.group(1))
        month, year = (
            (today.month, today.year) if day >= today.day else (today.month % 12 + 1, today.year + (today.month == 12))
        )
        with contextlib.suppress(ValueError):
            found.append((m.start(), m.end(), dt.date(year, month, day)))
    for m in _SLASH.finditer(text):
        value = _future(today, int(m.group(1)), int(m.group(2)))
        if value:
            found.append((m.start(), m.end(), value))
    return found


def _times(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in _TIME.finditer(text):
        if m.group(3):
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
            pm = m.group(3).lower().startswith("p")
            hour = (hour % 12) + (12 if pm else 0)
        else:
            hour, minute = int(m.group(4)), int(m.group(5))
        if hour < 24 and minute < 60:
            out.append((m.start(), m.end(), f"{hour:02d}:{minute:02d}"))
    return out


def _entity(name: str, value: Any, start: int, end: int, text: str) -> dict[str, Any]:
    return {
        "entity": name,
        "value": value,
        "start": start,
        "end": end,
        "text": text[start:end],
        "extractor": "en_patterns",
    }


def _without_weekday_of_a_date(found: list[tuple[int, int, dt.date]], text: str) -> list[tuple[int, int, dt.date]]:
    """ "Sunday, December 6": the weekday written before a date is part of it, not a second date."""
    weekdays = {(a, b) for a, b, _d in found if _WEEKDAY.fullmatch(text[a:b])}
    return [
        (a, b, d)
        for a, b, d in found
        if (a, b) not in weekdays or not any(0 < a2 - b <= 2 and (a2, b2) not in weekdays for a2, b2, _ in found)
    ]


def extract_en(text: str, today: dt.date) -> list[dict[str, Any]]:
    """Entities of an English `text`, offsets into it, in text order."""
    dates = _without_weekday_of_a_date(_dates(text, today), text)
    out = [_entity("date", d.isoformat(), a, b, text) for a, b, d in dates]
    out += [_entity("time", t, a, b, text) for a, b, t in _times(text)]
    out += [_entity("count", _number(m.group(1)), m.start(), m.end(), text) for m in _COUNT.finditer(text)]
    for m in _AGE.finditer(text):
        years = int(m.group(1)) if m.group(1) else 0
        out.append(_entity("age", years, m.start(), m.end(), text))
    for m in _RELATION.finditer(text):
        word = m.group(1).lower()
        value = next(k for k, v in _RELATIONS.items() if re.fullmatch(v, word))
        out.append(_entity("relation", value, m.start(), m.end(), text))
    return sorted(out, key=lambda e: e["start"])
