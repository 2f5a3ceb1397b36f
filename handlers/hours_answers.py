"""「土曜日も開いていますか」「何時まで」"Open on Saturday?": answered from the weekly structure.

The structure is office_hours.yml's (a schedule per weekday, 第2・第4土曜 rules, holidays,
年末年始), reached through the catalog (`Catalog.opening`). Which days and times were asked is the
NLU's text analysis (`nlu.facets.hours_details`, cues as data). Nothing here knows an hour: when
the hours have no structure (a label only) or the question names no day or time, the caller says
the label as before.
"""

from __future__ import annotations

from knowledge.office_hours import WEEKDAYS
from knowledge.opening_hours import DayRule, Opening, Span, short_time

DAY_JA = dict(zip(WEEKDAYS, "月火水木金土日", strict=True))
DAY_EN = dict(
    zip(WEEKDAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _ja(span: Span) -> str:
    return f"{short_time(span[0])}〜{short_time(span[1])}"


def _en(span: Span) -> str:
    return f"{short_time(span[0])}-{short_time(span[1])}"


def _weeks_ja(weeks: tuple[int, ...]) -> str:
    return "・".join(f"第{w}" for w in weeks)


def _weeks_en(weeks: tuple[int, ...]) -> str:
    ordinal = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th"}
    names = [ordinal[w] for w in weeks]
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]


def _day_ja(rule: DayRule) -> str:
    day = f"{DAY_JA[rule.weekday]}曜日"
    if rule.closed:
        return f"{day}は閉まっています。"
    if rule.every is not None and not rule.weeks:
        return f"{day}は{_ja(rule.every)}に開いています。"
    assert rule.nth is not None
    nth = f"{_weeks_ja(rule.weeks)}{DAY_JA[rule.weekday]}曜"
    if rule.every is None:
        return f"{day}は{nth}だけ、{_ja(rule.nth)}に開いています（ほかの{day}は閉まっています）。"
    return f"{day}は{_ja(rule.every)}、{nth}は{_ja(rule.nth)}です。"


def _day_en(rule: DayRule) -> str:
    day = DAY_EN[rule.weekday]
    if rule.closed:
        return f"It is closed on {day}s."
    if rule.every is not None and not rule.weeks:
        return f"It is open on {day}s, {_en(rule.every)}."
    assert rule.nth is not None
    nth = f"the {_weeks_en(rule.weeks)} {day} of the month"
    if rule.every is None:
        return f"On {day}s it is open only on {nth}, {_en(rule.nth)} (closed on other {day}s)."
    return f"On {day}s it is open {_en(rule.every)}, and {_en(rule.nth)} on {nth}."


def _days_asked(opening: Opening, details: tuple[str, ...]) -> list[DayRule]:
    days = [d for d in details if d in WEEKDAYS]
    if days:
        return [opening.day_rule(d) for d in days]
    # "何時まで" / "what time": the open days, the working days said once when alike
    return opening.open_days()


def _spans_ja(rules: list[DayRule]) -> str:
    work = [r for r in rules if r.weekday in WORKDAYS and r.every is not None and not r.weeks]
    parts = []
    if len(work) == len(WORKDAYS) and len({r.every for r in work}) == 1:
        parts.append(f"平日は{_ja(work[0].every)}")  # type: ignore[arg-type]
        rules = [r for r in rules if r not in work]
    for r in rules:
        day = DAY_JA[r.weekday]
        if r.every is not None:
            parts.append(f"{day}曜は{_ja(r.every)}")
        if r.weeks and r.nth is not None:
            parts.append(f"{_weeks_ja(r.weeks)}{day}曜は{_ja(r.nth)}")
    return "、".join(parts) + "です。"


def _spans_en(rules: list[DayRule]) -> str:
    work = [r for r in rules if r.weekday in WORKDAYS and r.every is not None and not r.weeks]
    parts = []
    if len(work) == len(WORKDAYS) and len({r.every for r in work}) == 1:
        parts.append(f"{_en(work[0].every)} on weekdays")  # type: ignore[arg-type]
        rules = [r for r in rules if r not in work]
    for r in rules:
        day = DAY_EN[r.weekday]
        if r.every is not None:
            parts.append(f"{_en(r.every)} on {day}s")
        if r.weeks and r.nth is not None:
            parts.append(f"{_en(r.nth)} on the {_weeks_en(r.weeks)} {day}")
    return "It is open " + ", ".join(parts) + "."


def _year_end_ja(opening: Opening) -> str:
    ye = opening.year_end
    if ye is None:
        return "年末年始も閉まる日はありません。"
    first_m, first_d = (int(x) for x in ye.first.split("-"))
    last_m, last_d = (int(x) for x in ye.last.split("-"))
    return f"年末年始（{first_m}月{first_d}日〜{last_m}月{last_d}日）は閉まっています。"


def _year_end_en(opening: Opening) -> str:
    ye = opening.year_end
    if ye is None:
        return "It does not close over the New Year."
    months = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    first_m, first_d = (int(x) for x in ye.first.split("-"))
    last_m, last_d = (int(x) for x in ye.last.split("-"))
    return f"It is closed over the New Year ({months[first_m]} {first_d} - {months[last_m]} {last_d})."


def hours_sentences(opening: Opening | None, details: tuple[str, ...], language: str = "ja") -> str | None:
    """Sentences answering exactly the days and times asked, from the structure; None when the
    hours have no structure or nothing specific was asked (then the label is said)."""
    if opening is None or not details:
        return None
    ja = language != "en"
    out: list[str] = []
    days = [d for d in details if d in WEEKDAYS]
    for rule in (opening.day_rule(d) for d in days):
        out.append(_day_ja(rule) if ja else _day_en(rule))
    if "holiday" in details:
        if ja:
            out.append("祝日は閉まっています。" if opening.closed_on_holidays else "祝日も開いています。")
        else:
            out.append(
                "It is closed on national holidays." if opening.closed_on_holidays else "It is open on holidays."
            )
    if "year_end" in details:
        out.append(_year_end_ja(opening) if ja else _year_end_en(opening))
    closed_all = bool(days) and all(opening.day_rule(d).closed for d in days)
    if (("close" in details or "open" in details) and not days) or closed_all:  # closed then: when it is open
        rules = opening.open_days() if closed_all else _days_asked(opening, details)
        out.append(_spans_ja(rules) if ja else _spans_en(rules))
    return "".join(out) if ja else " ".join(out) or None
