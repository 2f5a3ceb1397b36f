"""施設予約: facility and room, date, time slot (free ones as buttons), number of people.

A room is taken by one group per slot; `create_reservation` checks that in the transaction
(capacity 1 by overlapping time). Rooms, capacities, slots, fees and closed days: services.yml.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.contact import contact_details
from handlers.forms import Slot, as_int
from handlers.reservations import (
    BookingForm,
    as_date,
    date_buttons,
    daytime_time,
    next_days,
    render_date,
    services_data,
    taken,
    window_problem,
    yen,
)
from knowledge.bookings import Capacity
from knowledge.services_data import Facility, Room, ServicesData, TimeSlot, format_date, weekday_of
from knowledge.textproc import fold_kana
from nlu.day_parts import day_part, pick
from nlu.numerals import NUM, parse_number

_PEOPLE = re.compile(rf"({NUM})\s*(?:人|名)")


def _room(ctx: TurnContext, values: dict[str, Any]) -> tuple[Facility, Room] | None:
    return services_data(ctx).room(str(values.get("room", "")))


def room_label(facility: Facility, room: Room) -> str:
    return f"{facility.name} {room.name}"


def free_slots(ctx: TurnContext, room_id: str, day: date) -> list[TimeSlot]:
    return [s for s in services_data(ctx).facilities.slots if taken(room_id, day, s.start, s.end) == 0]


def _is_open(data: ServicesData, facility: Facility, day: date) -> bool:
    return weekday_of(day) not in facility.closed_weekdays and not data.is_closed_date(day)


# -- room --------------------------------------------------------------------------------------
def match_room(data: ServicesData, text: str) -> str | None:
    """The room named in `text` ("中央区民館の会議室A", "体育館"); None when unclear."""
    key = fold_kana(unicodedata.normalize("NFKC", text))
    best: list[tuple[int, str]] = []
    for facility in data.facilities.places:
        in_facility = fold_kana(facility.name) in key
        for room in facility.rooms:
            named = any(fold_kana(w) in key for w in (room.name, *room.aliases))
            if named:
                best.append((2 + int(in_facility), room.id))
    if not best:
        return None
    best.sort(reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]


def _extract_room(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("room")
    if isinstance(given, str) and services_data(ctx).room(given):
        return given
    return match_room(services_data(ctx), ctx.parse.text)


def _validate_room(ctx: TurnContext, room_id: str, values: dict[str, Any]) -> str | None:
    found = services_data(ctx).room(room_id)
    if found is None:
        return "その部屋は見つかりませんでした。"
    day = as_date(values.get("date"))
    if day is not None and not _is_open(services_data(ctx), found[0], day):
        return f"{format_date(day)}は{found[0].name}の休館日です。"
    return None


def _room_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [
        Button(f"{room_label(f, r)}（{r.capacity}人）", payload("inform", room=r.id))
        for f in services_data(ctx).facilities.places
        for r in f.rooms
    ]


def render_room(ctx: TurnContext, room_id: str) -> str:
    found = services_data(ctx).room(room_id)
    return room_label(*found) if found else room_id


# -- date --------------------------------------------------------------------------------------
def _validate_date(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    day = as_date(value)
    if day is None:
        return "日付がわかりませんでした。"
    problem = window_problem(ctx, day, data.facilities, data)
    found = _room(ctx, values)
    if problem or found is None:
        return problem
    facility, room = found
    if not _is_open(data, facility, day):
        closed = "・".join(facility.closed_weekdays)
        return f"{format_date(day)}は{facility.name}の休館日です（休館日：毎週{closed}曜日）。"
    if not free_slots(ctx, room.id, day):
        return f"{format_date(day)}の{room_label(facility, room)}は、すべての時間帯が予約済みです。"
    return None


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    found = _room(ctx, values)
    if found is None:
        return []
    data = services_data(ctx)
    days = [
        d for d in next_days(ctx, data.facilities) if _is_open(data, found[0], d) and free_slots(ctx, found[1].id, d)
    ]
    return date_buttons(ctx, days[:4])


# -- slot --------------------------------------------------------------------------------------
def _extract_slot(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    slots = services_data(ctx).facilities.slots
    given = ctx.parse.entity("slot")
    if isinstance(given, str) and any(s.id == given for s in slots):
        return given
    for s in slots:
        if s.label in ctx.parse.text:
            return s.id
    part = day_part(ctx.parse.text)  # 「ごご」「あさ」「ゆうがた」: the slot within it, when one fits
    if part is not None:
        chosen = pick([(s.start, s.end) for s in slots], part)
        return slots[chosen[0]].id if len(chosen) == 1 else None
    at = daytime_time(ctx.parse.entity("time"), ctx.parse.text, min(s.start for s in slots))
    for s in slots:
        if isinstance(at, str) and s.start <= at < s.end:
            return s.id
    return None


def _validate_slot(ctx: TurnContext, slot_id: str, values: dict[str, Any]) -> str | None:
    slot = services_data(ctx).slot(slot_id)
    day, found = as_date(values.get("date")), _room(ctx, values)
    if slot is None or day is None or found is None:
        return None
    if taken(found[1].id, day, slot.start, slot.end):
        free = "、".join(f"{s.label}（{s.start}〜{s.end}）" for s in free_slots(ctx, found[1].id, day))
        return f"{format_date(day)}の{slot.label}はすでに予約が入っています。空いている時間帯：{free or 'なし'}"
    return None


def _slot_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    day, found = as_date(values.get("date")), _room(ctx, values)
    if day is None or found is None:
        return []
    return [
        Button(f"{s.label} {s.start}〜{s.end}（{yen(found[1].fee[s.id])}）", payload("inform", slot=s.id))
        for s in free_slots(ctx, found[1].id, day)
    ]


# -- people ------------------------------------------------------------------------------------
def _extract_people(ctx: TurnContext, _values: dict[str, Any]) -> int | None:
    if ctx.parse.from_payload:  # a button: only its value counts, whatever its type
        return as_int(ctx.parse.entity("people"))
    given = as_int(ctx.parse.entity("people"))
    if given is not None:
        return given
    match = _PEOPLE.search(unicodedata.normalize("NFKC", ctx.parse.text))
    if match:
        return parse_number(match.group(1))
    return as_int(ctx.parse.entity("count"))


def _validate_people(ctx: TurnContext, people: int, values: dict[str, Any]) -> str | None:
    if people < 1:
        return "人数は1人以上で教えてください。"
    found = _room(ctx, values)
    if found and people > found[1].capacity:
        return f"{room_label(*found)}の定員は{found[1].capacity}人です。{people}人ではご利用いただけません。"
    return None


class FacilityBookingForm(BookingForm):
    name = "facility_booking"
    kind = "facility_booking"
    intents = frozenset({"facility_booking"})
    title = "施設の予約"
    slots = (
        Slot(
            "room",
            "予約したい施設・部屋を選んでください。",
            "施設",
            extract=_extract_room,
            validate=_validate_room,
            choices=_room_choices,
            aliases=("部屋", "会場"),
        ),
        Slot(
            "date",
            "利用日を教えてください。（例：12月10日）",
            "利用日",
            entity="date",
            validate=_validate_date,
            choices=_date_choices,
            render=render_date,
            aliases=("日付", "日にち"),
        ),
        Slot(
            "slot",
            "利用する時間帯を選んでください。",
            "時間帯",
            extract=_extract_slot,
            validate=_validate_slot,
            choices=_slot_choices,
            aliases=("時間", "午前", "午後", "夜間"),
        ),
        Slot(
            "people",
            "利用する人数を教えてください。（例：8名）",
            "人数",
            extract=_extract_people,
            validate=_validate_people,
            render=lambda v: f"{v}人",
            aliases=("人数",),
        ),
    )

    async def start(self, ctx: TurnContext) -> bool:
        ctx.say("区民館・体育館などの予約をお手伝いします。途中で「やめる」と送ると取りやめられます。")
        return True

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        found = _room(ctx, values)
        slot = services_data(ctx).slot(values["slot"])
        assert found is not None and slot is not None
        facility, room = found
        return [
            f"施設：{room_label(facility, room)}（{facility.address}）",
            f"利用日：{format_date(as_date(values['date']))}",  # type: ignore[arg-type]
            f"時間帯：{slot.label} {slot.start}〜{slot.end}",
            f"人数：{values['people']}人（定員{room.capacity}人）",
            f"使用料：{yen(room.fee[slot.id])}",
        ]

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        found = _room(ctx, values)
        slot = services_data(ctx).slot(values["slot"])
        day = as_date(values["date"])
        assert found is not None and slot is not None and day is not None
        facility, room = found
        details = {
            **contact_details(values),
            "facility": facility.name,
            "room": room.name,
            "slot": slot.id,
            "people": values["people"],
            "fee": room.fee[slot.id],
        }
        number = await self.book(
            ctx,
            resource=room.id,
            day=day,
            capacity=Capacity(1, by_time=True),
            details=details,
            start=slot.start,
            end=slot.end,
        )
        if number is None:
            await self.reopen(
                ctx,
                values,
                drop=("slot",),
                message=f"申し訳ありません。{format_date(day)}の{slot.label}はたった今、予約が入りました。",
            )
            return
        spec = services_data(ctx).facilities
        self.done(
            ctx,
            title="施設の予約",
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[spec.payment, f"【取消し】{spec.change_note}（{facility.name}：{facility.phone}）"],
        )
