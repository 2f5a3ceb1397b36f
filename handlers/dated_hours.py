"""「12月29日は開いていますか」「明日 窓口やってる？」"Open on December 31?": hours for one date.

The date is the NLU's `date` entity (Japanese or English, resolved against the turn's day). The
answer comes from the same structure as the weekly hours (`Opening.span_on`: office_hours.yml
schedules, 第2・第4土曜, national holidays from jpholiday, 年末年始), and says the date and its
weekday, and why a counter is closed (a holiday by its name, the New Year break, a Saturday that
is not the 2nd or 4th). Nothing here knows an hour.
"""

from __future__ import annotations

import re
from datetime import date

import jpholiday

from bot.engine.turn import TurnContext
from knowledge.catalog import Catalog, Office
from knowledge.office_hours import WEEKDAYS
from knowledge.opening_hours import Opening, short_time

DAY_JA = "月火水木金土日"
DAY_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_EN: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August")
MONTH_EN += ("September", "October", "November", "December")
BARE_WEEKDAY = re.compile(r"(?:on\s+)?(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*|[月火水木金土日](?:曜日?)?", re.I)


def asked_day(ctx: TurnContext) -> date | None:
    """The date the resident's own words name (a button names none). A bare weekday
    (「土曜日も開いていますか」 "open on Saturday?") asks the weekly rule, not one date."""
    if ctx.parse.from_payload:
        return None
    for entity in ctx.parse.entities:
        if entity.get("entity") != "date" or not isinstance(entity.get("value"), str):
            continue
        said = entity.get("text") or ctx.parse.text[int(entity.get("start", 0)) : int(entity.get("end", 0))]
        if BARE_WEEKDAY.fullmatch(str(said).strip()):
            continue
        try:
            return date.fromisoformat(entity["value"])
        except ValueError:
            continue
    return None


def date_ja(day: date) -> str:
    return f"{day.month}月{day.day}日（{DAY_JA[day.weekday()]}）"


def date_en(day: date) -> str:
    return f"{DAY_EN[day.weekday()]}, {MONTH_EN[day.month - 1]} {day.day}"


def _why_closed(opening: Opening, day: date, en: bool) -> str:
    if opening.year_end is not None and opening.year_end.covers(day):
        return "the New Year holidays" if en else "年末年始のため"
    name = jpholiday.is_holiday_name(day) if opening.closed_on_holidays else None
    if name:
        return "a national holiday" if en else f"祝日（{name}）のため"
    rule = opening.day_rule(WEEKDAYS[day.weekday()])
    if rule.weeks:
        weeks = "・".join(f"第{w}" for w in rule.weeks)
        ordinals = " or ".join({1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}[w] for w in rule.weeks)
        day_en = DAY_EN[day.weekday()]
        return f"not the {ordinals} {day_en} of the month" if en else f"{weeks}{DAY_JA[day.weekday()]}曜日ではないため"
    return ""


def day_sentence(opening: Opening, day: date, language: str = "ja") -> str:
    """Whether `opening` is open on `day` and when, or why it is closed, with the date and weekday."""
    en = language == "en"
    span = opening.span_on(day)
    if span is not None:
        if en:
            return f"On {date_en(day)} it is open {_en(span)}."
        return f"{date_ja(day)}は{_ja(span)}に開いています。"
    why = _why_closed(opening, day, en)
    if en:
        return f"On {date_en(day)} it is closed" + (f" ({why})." if why else ".")
    return f"{date_ja(day)}は{why}閉まっています。"


def offices_on(catalog: Catalog, day: date) -> list[tuple[Office, Opening]]:
    """The offices whose hours have a structure (not the convenience stores')."""
    out = []
    for office in catalog.offices.values():
        opening = catalog.opening(office.hours)
        if opening is not None:
            out.append((office, opening))
    return out


def general_day_answer(catalog: Catalog, day: date, language: str = "ja", glossed=lambda s: s) -> str | None:  # type: ignore[no-untyped-def]
    """ "Is the city hall open on …?" with no procedure named: the counters open that day, grouped
    by their hours, or that all are closed and why; None when no office has structured hours."""
    en = language == "en"
    offices = offices_on(catalog, day)
    if not offices:
        return None
    open_ones: dict[tuple[str, str], list[str]] = {}
    for office, opening in offices:
        span = opening.span_on(day)
        if span is not None:
            open_ones.setdefault(span, []).append(glossed(office.name) if en else office.name)
    if not open_ones:
        why = _why_closed(offices[0][1], day, en)
        if en:
            return f"On {date_en(day)} the ward's counters are closed" + (f" ({why})." if why else ".")
        return f"{date_ja(day)}は{why}区役所の窓口は閉まっています。"
    groups = sorted(open_ones.items(), key=lambda kv: -len(kv[1]))
    (main_span, main_names), others = groups[0], groups[1:]
    if 2 * len(main_names) >= len(offices):  # most counters keep the same hours: said once
        n_closed = len(offices) - sum(len(v) for v in open_ones.values())
        if en:
            out = [f"On {date_en(day)} the ward's counters are open {_en(main_span)}."]
            out += [f"{', '.join(names)}: {_en(span)}." for span, names in others]
            return " ".join(out + (["Some other counters are closed."] if n_closed else []))
        extra = "".join(f"{'、'.join(names)}は{_ja(span)}です。" for span, names in others)
        return (
            f"{date_ja(day)}は、区役所の窓口は{_ja(main_span)}に開いています。"
            + extra
            + ("一部の窓口は閉まっています。" if n_closed else "")
        )
    closed = next((opening for _o, opening in offices if opening.span_on(day) is None), None)
    why = _why_closed(closed, day, en) if closed is not None else ""  # a holiday, the New Year...
    if en:
        listed = "; ".join(f"{', '.join(names)} ({_en(span)})" for span, names in groups)
        rest = f"The others are closed ({why})." if why else "The others are closed."
        return f"On {date_en(day)} only these counters are open: {listed}. {rest}"
    listed = "、".join(f"{'、'.join(names)}（{_ja(span)}）" for span, names in groups)
    return f"{date_ja(day)}に開いているのは、{listed}です。ほかの窓口は{why}閉まっています。"


def _ja(span: tuple[str, str]) -> str:
    return f"{short_time(span[0])}〜{short_time(span[1])}"


def _en(span: tuple[str, str]) -> str:
    return f"{short_time(span[0])}-{short_time(span[1])}"


def say_general_day_hours(ctx: TurnContext) -> bool:
    """An hours question naming a date and no procedure (「明日 窓口やってる？」), in Japanese:
    answered for that date from the counters' structure; False when it is no such question."""
    from nlu.facets import detect_facet

    day = asked_day(ctx)
    catalog = ctx.services.knowledge.get("catalog")
    if day is None or catalog is None or detect_facet(ctx.parse.text) != "hours":
        return False
    answer = general_day_answer(catalog, day)
    if answer is None:
        return False
    from bot.engine.events import Button
    from bot.engine.turn import payload

    ctx.handled_by = "dated_hours"
    ctx.state.fallback_streak = 0
    ctx.say(answer, buttons=[Button("職員と話す", payload("request_human"))])
    return True
