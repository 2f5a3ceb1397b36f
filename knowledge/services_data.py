"""The bookable services of the municipality (粗大ごみ, 一時預かり, 施設, 介護の相談), from YAML.

`load_services()` reads `knowledge/data/services.yml` (or a municipality's own file) and validates
it with pydantic, so a typo in the data fails at start-up rather than in a resident's chat. The
handlers read every fee, rule, hour and phone number from here; none lives in code.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, BeforeValidator, Field, model_validator

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "services.yml"
WEEKDAYS = "月火水木金土日"  # index = date.weekday()


def _hhmm(value: object) -> str:
    text = str(value)
    time.fromisoformat(text)  # raises on a bad time
    return text


HHMM = Annotated[str, BeforeValidator(_hhmm)]


def _weekday(value: object) -> str:
    if value not in tuple(WEEKDAYS):
        raise ValueError(f"weekday must be one of {WEEKDAYS}: {value!r}")
    return str(value)


Weekday = Annotated[str, BeforeValidator(_weekday)]


class Area(BaseModel):
    towns: list[str]


class BookingWindow(BaseModel):
    min_days_ahead: int = Field(ge=0)
    max_days_ahead: int = Field(ge=1)

    def window(self, today: date) -> tuple[date, date]:
        return today + timedelta(days=self.min_days_ahead), today + timedelta(days=self.max_days_ahead)


class CancelRule(BaseModel):
    """Until when a reservation may be cancelled in the chat: `days_before` the service date, up to
    `time` on that day (HH:MM) or to its end. Without a rule a kind is cancelled by phone only
    (its `change_note` says how)."""

    days_before: int = Field(ge=0)
    time: HHMM | None = None

    def deadline(self, service_date: date) -> datetime:
        """The last moment (naive, local time of the municipality) a cancellation is accepted."""
        day = service_date - timedelta(days=self.days_before)
        at = time.fromisoformat(self.time) if self.time else time(23, 59, 59)
        return datetime.combine(day, at)

    def describe(self, day_noun: str) -> str:
        """ "収集日の2日前の17時まで", "利用日の前日まで", "利用日の当日まで"."""
        before = {0: "当日", 1: "前日"}.get(self.days_before, f"{self.days_before}日前")
        at = ""
        if self.time:
            hour, minute = (int(x) for x in self.time.split(":"))
            at = f"の{hour}時{f'{minute}分' if minute else ''}"
        return f"{day_noun}の{before}{at}まで"


class WasteItem(BaseModel):
    id: str
    name: str
    fee: int = Field(gt=0)
    aliases: list[str] = []
    size_words: list[str] = []  # words that pick this size after a plain group word ("ソファは3人掛け")


class SizedGroup(BaseModel):
    """Items priced by size ("ソファ" = 1人掛け or 2人掛け以上): the plain word asks which."""

    word: str
    aliases: list[str] = []
    items: list[str] = Field(min_length=2)


class NotAccepted(BaseModel):
    names: list[str]
    reason: str


class BulkyWaste(BookingWindow):
    office: str
    phone: str
    hours: str
    collection_weekdays: dict[str, list[Weekday]]
    daily_limit: int = Field(gt=0)
    max_items: int = Field(gt=0)
    rules: list[str]
    payment: str
    change_note: str
    cancel_in_chat: CancelRule | None = None
    not_accepted: list[NotAccepted] = []
    items: list[WasteItem] = Field(min_length=1)
    sized: list[SizedGroup] = []

    @model_validator(mode="after")
    def _sized_items_known(self) -> BulkyWaste:
        ids = {i.id for i in self.items}
        unknown = {i for g in self.sized for i in g.items} - ids
        if unknown:
            raise ValueError(f"bulky_waste.sized names unknown items: {sorted(unknown)}")
        return self


class ChildcareFacility(BaseModel):
    id: str
    name: str
    area: str
    address: str
    phone: str
    min_months: int = Field(ge=0)
    max_months: int = Field(ge=0)
    open: HHMM
    close: HHMM
    capacity_per_day: int = Field(gt=0)
    fee_per_hour: int = Field(ge=0)
    closed_weekdays: list[Weekday] = []

    def accepts(self, months: int) -> bool:
        return self.min_months <= months <= self.max_months


class Childcare(BookingWindow):
    office: str
    phone: str
    hours: str
    unit_minutes: int = Field(gt=0)
    bring: list[str]
    payment: str
    change_note: str
    cancel_in_chat: CancelRule | None = None
    facilities: list[ChildcareFacility] = Field(min_length=1)


class TimeSlot(BaseModel):
    id: str
    label: str
    start: HHMM
    end: HHMM


class Room(BaseModel):
    id: str
    name: str
    capacity: int = Field(gt=0)
    fee: dict[str, int]
    aliases: list[str] = []


class Facility(BaseModel):
    id: str
    name: str
    area: str
    address: str
    phone: str
    closed_weekdays: list[Weekday] = []
    rooms: list[Room] = Field(min_length=1)


class Facilities(BookingWindow):
    office: str
    phone: str
    hours: str
    payment: str
    change_note: str
    cancel_in_chat: CancelRule | None = None
    slots: list[TimeSlot] = Field(min_length=1)
    places: list[Facility] = Field(alias="list", min_length=1)

    @model_validator(mode="after")
    def _fees_per_slot(self) -> Facilities:
        slot_ids = {s.id for s in self.slots}
        for facility in self.places:
            for room in facility.rooms:
                if set(room.fee) != slot_ids:
                    raise ValueError(f"room {room.id}: a fee for each slot {sorted(slot_ids)} is required")
        return self


class Consultation(BookingWindow):
    weekdays: list[Weekday]
    times: list[HHMM] = Field(min_length=1)
    minutes: int = Field(gt=0)
    per_slot: int = Field(gt=0)


class CareCenter(BaseModel):
    id: str
    name: str
    area: str
    address: str
    phone: str
    hours: str


class Care(BaseModel):
    note: str
    consultation: Consultation
    change_note: str
    cancel_in_chat: CancelRule | None = None
    centers: list[CareCenter] = Field(min_length=1)


class ServicesData(BaseModel):
    municipality: str
    areas: dict[str, Area]
    closed_dates: list[date] = []
    bulky_waste: BulkyWaste
    childcare: Childcare
    facilities: Facilities
    care: Care

    @model_validator(mode="after")
    def _areas_known(self) -> ServicesData:
        known = set(self.areas)
        used = set(self.bulky_waste.collection_weekdays) | {c.area for c in self.care.centers}
        used |= {f.area for f in self.childcare.facilities} | {f.area for f in self.facilities.places}
        if used - known:
            raise ValueError(f"unknown areas: {sorted(used - known)}")
        missing = known - set(self.bulky_waste.collection_weekdays)
        if missing:
            raise ValueError(f"no 粗大ごみ collection weekdays for areas {sorted(missing)}")
        if known - {c.area for c in self.care.centers}:
            raise ValueError("every area needs a 地域包括支援センター")
        return self

    # -- look-ups used by the handlers ------------------------------------------------------
    def is_closed_date(self, day: date) -> bool:
        return day in self.closed_dates

    def find_town(self, text: str) -> tuple[str, str] | None:
        """(町名, area) of the longest 町名 named in `text` ("デモ区中央1-1-1" -> ("中央", "中央"))."""
        text = unicodedata.normalize("NFKC", text)
        best: tuple[str, str] | None = None
        for area, spec in self.areas.items():
            for town in spec.towns:
                variants = {town, town.replace("ケ", "ヶ"), town.replace("ケ", "が")}
                if any(v in text for v in variants) and (best is None or len(town) > len(best[0])):
                    best = (town, area)
        return best

    def care_center(self, area: str) -> CareCenter:
        return next(c for c in self.care.centers if c.area == area)

    def childcare_facility(self, facility_id: str) -> ChildcareFacility | None:
        return next((f for f in self.childcare.facilities if f.id == facility_id), None)

    def room(self, room_id: str) -> tuple[Facility, Room] | None:
        for facility in self.facilities.places:
            for room in facility.rooms:
                if room.id == room_id:
                    return facility, room
        return None

    def slot(self, slot_id: str) -> TimeSlot | None:
        return next((s for s in self.facilities.slots if s.id == slot_id), None)


def weekday_of(day: date) -> str:
    return WEEKDAYS[day.weekday()]


def format_date(day: date) -> str:
    """12月1日（火） — the form residents read."""
    return f"{day.month}月{day.day}日（{weekday_of(day)}）"


_BANCHI = re.compile(r"[0-9０-９一二三四五六七八九十]+(?:丁目|番地?|号|[-‐－ー−の])?[0-9０-９\-‐－ー−の番地号]*")


def split_address(text: str, town: str) -> str:
    """The part of an address after its 町名 ("中央1-1-1" -> "1-1-1"); "" when none is given."""
    text = unicodedata.normalize("NFKC", text)
    _, _, rest = text.partition(town)
    match = _BANCHI.match(rest.strip())
    return match.group(0) if match else ""


def load_services(path: Path | None = None) -> ServicesData:
    with (path or DEFAULT_PATH).open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    return ServicesData.model_validate(raw)
