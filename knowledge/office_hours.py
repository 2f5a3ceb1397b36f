"""When staff answer chats, per department, as data (knowledge/data/office_hours.yml).

Weekly hours per weekday, `nth` rules (第2・第4土曜), 年末年始 and national holidays (the
`jpholiday` package: 国民の祝日 and 振替休日, kept up to date by its maintainers rather than a
hand-written table). Times are Japan time. The file is validated at start; a mistake names the
file and the field. Also: the general department (総合案内) and the hotline numbers said at once
for DV, abuse and emergencies.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jpholiday
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PACKAGED = Path(__file__).resolve().parent / "data" / "office_hours.yml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_JA = "月火水木金土日"
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")  # 24:00 = midnight
_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
JST = ZoneInfo("Asia/Tokyo")


class OfficeHoursError(ValueError):
    pass


def _span(text: str) -> tuple[time, time]:
    match = _SPAN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    a = time(int(match[1]), int(match[2]))
    b = time.max if match[3] == "24" and match[4] == "00" else time(int(match[3]) % 24, int(match[4]))
    if a >= b:
        raise ValueError(f"{text!r} closes before it opens")
    return a, b


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NthRule(_Model):
    weekday: str
    weeks: tuple[int, ...]  # 1..5: the n-th such weekday of the month
    hours: str

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, v: str) -> str:
        if v not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}")
        return v

    @field_validator("weeks")
    @classmethod
    def _weeks(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(not 1 <= w <= 5 for w in v):
            raise ValueError("weeks are 1 to 5")
        return v

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: str) -> str:
        _span(v)
        return v


class Schedule(_Model):
    label: str
    weekly: dict[str, str] = Field(default_factory=dict)
    nth: tuple[NthRule, ...] = ()
    open_on_holidays: bool = False  # open on 国民の祝日 (a counter like the convenience stores')

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, v: dict[str, str]) -> dict[str, str]:
        for day, span in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"{day!r}: weekdays are {', '.join(WEEKDAYS)}")
            _span(span)
        return v

    def span_on(self, day: date) -> tuple[time, time] | None:
        """Opening and closing time on `day` by the weekly and nth rules (holidays aside)."""
        name = WEEKDAYS[day.weekday()]
        for rule in self.nth:
            if rule.weekday == name and (day.day - 1) // 7 + 1 in rule.weeks:
                return _span(rule.hours)
        return _span(self.weekly[name]) if name in self.weekly else None


class YearEnd(_Model):
    first: str
    last: str

    @field_validator("first", "last")
    @classmethod
    def _mmdd(cls, v: str) -> str:
        if not _MMDD.match(v):
            raise ValueError(f"{v!r} is not MM-DD")
        return v

    def covers(self, day: date) -> bool:
        key = day.strftime("%m-%d")
        if self.first <= self.last:
            return self.first <= key <= self.last
        return key >= self.first or key <= self.last  # across the new year: 12-29 .. 01-03


class Hotline(_Model):
    label: str
    number: str


class Queue(_Model):
    minutes_per_conversation: int = Field(default=8, ge=1, le=240)


class CounterVisits(_Model):
    """窓口予約: counter visits bookable in chat, in slots cut from a department's own hours (never
    other hours): `slot_minutes` long, `per_slot` residents each, from `min_days_ahead` to
    `max_days_ahead` days ahead; cancelled in chat up to `cancel_in_chat` (days before, HH:MM)."""

    slot_minutes: int = Field(ge=10, le=240)
    per_slot: int = Field(default=1, ge=1, le=50)
    min_days_ahead: int = Field(default=1, ge=0, le=60)
    max_days_ahead: int = Field(default=14, ge=1, le=60)
    cancel_days_before: int | None = Field(default=None, ge=0, le=30)
    cancel_time: str | None = None
    change_note: str = ""
    departments: tuple[str, ...] | None = None  # None: every department

    @field_validator("cancel_time")
    @classmethod
    def _hhmm(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^([01]\d|2[0-3]):[0-5]\d$", v):
            raise ValueError(f"{v!r} is not HH:MM")
        return v

    @model_validator(mode="after")
    def _window(self) -> CounterVisits:
        if self.min_days_ahead > self.max_days_ahead:
            raise ValueError("min_days_ahead is after max_days_ahead")
        return self


class OfficeHours(_Model):
    general_department: str
    year_end: YearEnd | None = None
    national_holidays: bool = True
    schedules: dict[str, Schedule]
    default_schedule: str
    departments: dict[str, str] = Field(default_factory=dict)
    queue: Queue = Queue()
    hotlines: tuple[Hotline, ...] = ()
    counter_visits: CounterVisits | None = None

    @model_validator(mode="after")
    def _references(self) -> OfficeHours:
        if self.default_schedule not in self.schedules:
            raise ValueError(f"default_schedule: unknown schedule {self.default_schedule!r}")
        for dept, schedule in self.departments.items():
            if schedule not in self.schedules:
                raise ValueError(f"departments.{dept}: unknown schedule {schedule!r}")
        return self

    # -- queries (Japan time) ------------------------------------------------------------
    def schedule_of(self, department: str | None) -> Schedule:
        return self.schedules[self.departments.get(department or "", self.default_schedule)]

    def closed_day(self, day: date, schedule: Schedule | None = None) -> bool:
        if self.year_end is not None and self.year_end.covers(day):
            return True
        if schedule is not None and schedule.open_on_holidays:
            return False
        return self.national_holidays and jpholiday.is_holiday(day)

    def closed_on_holidays(self, schedule: Schedule) -> bool:
        return self.national_holidays and not schedule.open_on_holidays

    def span_on(self, department: str | None, day: date) -> tuple[time, time] | None:
        schedule = self.schedule_of(department)
        return None if self.closed_day(day, schedule) else schedule.span_on(day)

    def is_open(self, department: str | None, at: datetime) -> bool:
        local = at.astimezone(JST)
        span = self.span_on(department, local.date())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, department: str | None, at: datetime) -> datetime | None:
        """When staff are next on duty after `at` (Japan time); None if not within 60 days."""
        local = at.astimezone(JST)
        for offset in range(61):
            day = local.date() + timedelta(days=offset)
            span = self.span_on(department, day)
            if span is None:
                continue
            opening = datetime.combine(day, span[0], JST)
            if opening > local:
                return opening
        return None


    # -- 窓口予約 (counter visits) ---------------------------------------------------------
    def takes_visits(self, department: str | None) -> bool:
        visits = self.counter_visits
        return visits is not None and (visits.departments is None or (department or "") in visits.departments)

    def visit_slots(self, department: str | None, day: date) -> list[tuple[str, str]]:
        """(start, end) HH:MM of the bookable slots on `day`: cut from the department's hours that
        day (none on a closed day); a last piece shorter than a slot is not offered."""
        visits = self.counter_visits
        span = self.span_on(department, day) if visits is not None and self.takes_visits(department) else None
        if span is None or visits is None:
            return []
        step = timedelta(minutes=visits.slot_minutes)
        at, close = datetime.combine(day, span[0]), datetime.combine(day, span[1])
        slots = []
        while at + step <= close:
            slots.append((at.strftime("%H:%M"), (at + step).strftime("%H:%M")))
            at += step
        return slots

    def visit_days(self, department: str | None, today: date) -> list[date]:
        """The days within the booking window on which the department has any slot."""
        visits = self.counter_visits
        if visits is None:
            return []
        days = (today + timedelta(days=n) for n in range(visits.min_days_ahead, visits.max_days_ahead + 1))
        return [d for d in days if self.visit_slots(department, d)]


def describe(at: datetime) -> str:
    """「12月7日（月）8:30」"""
    local = at.astimezone(JST)
    return f"{local.month}月{local.day}日（{WEEKDAY_JA[local.weekday()]}）{local.hour}:{local.minute:02d}"


def parse_office_hours(raw: Any, source: str) -> OfficeHours:
    if not isinstance(raw, dict):
        raise OfficeHoursError(f"{source}: the top level must be a mapping")
    try:
        return OfficeHours.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in exc.errors()]
        raise OfficeHoursError(f"{source}: " + "; ".join(lines)) from None


def load_office_hours(data_dir: Path, departments: set[str] | None = None) -> OfficeHours:
    """DATA_DIR/knowledge/office_hours.yml, else the packaged demo; department ids are checked
    against the catalog's when given."""
    local = Path(data_dir) / "knowledge" / "office_hours.yml"
    path = local if local.exists() else PACKAGED
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise OfficeHoursError(f"{path}: not valid YAML: {exc}") from exc
    hours = parse_office_hours(raw, str(path))
    if departments is not None:
        unknown = [d for d in (hours.general_department, *hours.departments) if d not in departments]
        if unknown:
            raise OfficeHoursError(f"{path}: unknown department id(s) {', '.join(unknown)} (see procedures.yml)")
    return hours


def department_for(catalog: Any, hours: OfficeHours | None, *names: str | None) -> str:
    """The department that takes a conversation: the catalog's `department` of the first of
    `names` (forms, intents) that is a procedure; else the general department (総合案内)."""
    if catalog is not None:
        for name in names:
            procedure = catalog.get(name) if name else None
            if procedure is not None:
                return str(procedure.department)
    return hours.general_department if hours is not None else GENERAL_FALLBACK


GENERAL_FALLBACK = "sogo_annai"
