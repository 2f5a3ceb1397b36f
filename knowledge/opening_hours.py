"""The counters' opening hours per weekday, from the one structure in office_hours.yml.

procedures.yml `hours:` entries name a schedule of office_hours.yml (`schedule: weekdays`); the
weekly spans, the 第2・第4土曜 rules, holidays and 年末年始 are read from there, so
「土曜日も開いていますか」「何時まで」 are answered from data, never from a sentence. An entry
with only a `label` has no structure: then only its label can be said.

    opening = catalog.opening("honcho_saturday")     # Opening | None
    opening.day_rule("sat")                          # DayRule(every=None, weeks=(2, 4), nth=("09:00", "12:00"))
    opening.span_on(date(2026, 12, 12))              # ("09:00", "12:00"): the 2nd Saturday
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jpholiday

from knowledge.office_hours import PACKAGED, WEEKDAYS, OfficeHours, Schedule, YearEnd, load_office_hours

Span = tuple[str, str]  # ("08:30", "17:15")


def _span(text: str) -> Span:
    start, end = text.split("-", 1)
    return start, end


def short_time(hhmm: str) -> str:
    """"08:30" -> "8:30" (the way the labels write it)."""
    hour, minute = hhmm.split(":")
    return f"{int(hour)}:{minute}"


@dataclass(frozen=True)
class DayRule:
    """What a schedule says about one weekday: open every week, only some weeks, or closed."""

    weekday: str  # mon … sun
    every: Span | None  # open every such weekday
    weeks: tuple[int, ...] = ()  # open only on these weeks of the month (第2・第4)
    nth: Span | None = None  # the hours on those weeks

    @property
    def closed(self) -> bool:
        return self.every is None and not self.weeks


@dataclass(frozen=True)
class Opening:
    schedule: Schedule
    closed_on_holidays: bool
    year_end: YearEnd | None
    note: str = ""

    @property
    def label(self) -> str:
        return self.schedule.label + (f"、{self.note}" if self.note else "")

    def day_rule(self, weekday: str) -> DayRule:
        for rule in self.schedule.nth:
            if rule.weekday == weekday:
                every = self.schedule.weekly.get(weekday)
                return DayRule(weekday, _span(every) if every else None, rule.weeks, _span(rule.hours))
        every = self.schedule.weekly.get(weekday)
        return DayRule(weekday, _span(every) if every else None)

    def open_days(self) -> list[DayRule]:
        return [r for r in (self.day_rule(d) for d in WEEKDAYS) if not r.closed]

    def span_on(self, day: date) -> Span | None:
        """The hours on `day`, holidays and 年末年始 included; None: closed."""
        if self.year_end is not None and self.year_end.covers(day):
            return None
        if self.closed_on_holidays and jpholiday.is_holiday(day):
            return None
        span = self.schedule.span_on(day)
        return None if span is None else (span[0].strftime("%H:%M"), span[1].strftime("%H:%M"))


def office_hours_beside(catalog_path: Path | None) -> OfficeHours:
    """office_hours.yml next to the catalog file (a municipality's DATA_DIR/knowledge), else the
    packaged one: the same choice `load_office_hours` makes."""
    beside = catalog_path is not None and (catalog_path.parent / "office_hours.yml").is_file()
    return load_office_hours(catalog_path.parent.parent if beside and catalog_path else PACKAGED.parent)


def resolve(hours: OfficeHours, schedule_id: str, note: str = "") -> Opening:
    schedule = hours.schedules[schedule_id]
    return Opening(schedule, hours.closed_on_holidays(schedule), hours.year_end, note)


def check_hours(entries: dict[str, Any], hours: OfficeHours) -> list[str]:
    """Problems of the catalog's `hours:` entries (label or schedule, schedules that exist)."""
    problems = []
    for key, entry in entries.items():
        if entry.schedule is None and not entry.label:
            problems.append(f"hours.{key}: needs a label or a schedule (of office_hours.yml)")
        if entry.schedule is not None and entry.schedule not in hours.schedules:
            problems.append(f"hours.{key}.schedule: unknown schedule {entry.schedule!r} (see office_hours.yml)")
    return problems
