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
from handlers.facility_words import facility_text as _t
from handlers.facility_words import match_room_en, place_name, room_label, slot_label
from handlers.form_texts import day_text, english, joined, name, span_text, tr, weekdays_text, yen_text
from handlers.forms import Slot, as_int
from handlers.reservations import (
    BookingForm,
    as_date,
    date_buttons,
    daytime_time,
    next_days,
    no_date,
    render_date,
    services_data,
    taken,
    window_problem,
    yen,
)
from knowledge.bookings import Capacity
from knowledge.services_data import Facility, Room, ServicesData, TimeSlot, weekday_of
from knowledge.textproc import fold_kana
from nlu.day_parts import day_part, pick
from nlu.numerals import NUM, parse_number

_PEOPLE = re.compile(rf"({NUM})\s*(?:人|名)")


def _room(ctx: TurnContext, values: dict[str, Any]) -> tuple[Facility, Room] | None:
    return services_data(ctx).room(str(values.get("room", "")))


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
    if english(ctx):
        return match_room_en(ctx, services_data(ctx), ctx.parse.text)
    return match_room(services_data(ctx), ctx.parse.text)


def _validate_room(ctx: TurnContext, room_id: str, values: dict[str, Any]) -> str | None:
    found = services_data(ctx).room(room_id)
    if found is None:
        return _t(ctx, "room_unknown", "その部屋は見つかりませんでした。")
    day = as_date(values.get("date"))
    if day is not None and not _is_open(services_data(ctx), found[0], day):
        return _t(
            ctx, "room_closed", "{day}は{name}の休館日です。", day=day_text(ctx, day), name=place_name(ctx, found[0])
        )
    return None


def _room_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    people = "（{n}人）" if not english(ctx) else " (up to {n})"
    return [
        Button(room_label(f, r, ctx) + people.format(n=r.capacity), payload("inform", room=r.id))
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
        return no_date(ctx)
    problem = window_problem(ctx, day, data.facilities, data)
    found = _room(ctx, values)
    if problem or found is None:
        return problem
    facility, room = found
    said = day_text(ctx, day)
    if not _is_open(data, facility, day):
        days = weekdays_text(ctx, facility.closed_weekdays)
        return _t(
            ctx,
            "closed_weekday",
            "{day}は{name}の休館日です（休館日：毎週{days}）。",
            day=said,
            name=place_name(ctx, facility),
            days=days,
        )
    if not free_slots(ctx, room.id, day):
        room_said = room_label(facility, room, ctx)
        return _t(ctx, "all_taken", "{day}の{room}は、すべての時間帯が予約済みです。", day=said, room=room_said)
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
        if s.label in ctx.parse.text or (english(ctx) and slot_label(ctx, s).lower() in ctx.parse.text.lower()):
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
        free = joined(
            ctx,
            (
                f"{slot_label(ctx, s)}" + (f" {s.start}-{s.end}" if english(ctx) else f"（{s.start}〜{s.end}）")
                for s in free_slots(ctx, found[1].id, day)
            ),
        )
        return _t(
            ctx,
            "slot_taken",
            "{day}の{slot}はすでに予約が入っています。空いている時間帯：{free}",
            day=day_text(ctx, day),
            slot=slot_label(ctx, slot),
            free=free or _t(ctx, "none", "なし"),
        )
    return None


def _slot_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    day, found = as_date(values.get("date")), _room(ctx, values)
    if day is None or found is None:
        return []
    return [
        Button(
            f"{slot_label(ctx, s)} {span_text(ctx, s.start, s.end)}"
            + (f" ({yen_text(ctx, found[1].fee[s.id])})" if english(ctx) else f"（{yen(found[1].fee[s.id])}）"),
            payload("inform", slot=s.id),
        )
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
    asked = ctx.state.active_form is not None and ctx.state.active_form.requested_slot == "people"
    return as_int(ctx.parse.entity("count")) or (as_int(ctx.parse.text) if asked else None)


def _validate_people(ctx: TurnContext, people: int, values: dict[str, Any]) -> str | None:
    if people < 1:
        return _t(ctx, "people_min", "人数は1人以上で教えてください。")
    found = _room(ctx, values)
    if found and people > found[1].capacity:
        return _t(
            ctx,
            "people_max",
            "{room}の定員は{capacity}人です。{people}人ではご利用いただけません。",
            room=room_label(*found, ctx),
            capacity=found[1].capacity,
            people=people,
        )
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
        if english(ctx):
            ctx.say(f"{self.text(ctx, 'start', '')} {tr(ctx, 'common.note_cancel', '')}".strip())
            return True
        ctx.say("区民館・体育館などの予約をお手伝いします。途中で「やめる」と送ると取りやめられます。")
        return True

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        found = _room(ctx, values)
        slot = services_data(ctx).slot(values["slot"])
        assert found is not None and slot is not None
        facility, room = found
        day = as_date(values["date"])
        assert day is not None
        return [
            _t(
                ctx,
                "line_room",
                "施設：{room}（{address}）",
                room=room_label(facility, room, ctx),
                address=facility.address,
            ),
            _t(ctx, "line_date", "利用日：{day}", day=day_text(ctx, day)),
            _t(
                ctx,
                "line_slot",
                "時間帯：{slot} {start}〜{end}",
                slot=slot_label(ctx, slot),
                start=slot.start,
                end=slot.end,
            ),
            _t(
                ctx,
                "line_people",
                "人数：{people}人（定員{capacity}人）",
                people=values["people"],
                capacity=room.capacity,
            ),
            _t(ctx, "line_fee", "使用料：{fee}", fee=yen_text(ctx, room.fee[slot.id])),
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
            message = _t(
                ctx,
                "gone",
                "申し訳ありません。{day}の{slot}はたった今、予約が入りました。",
                day=day_text(ctx, day),
                slot=slot_label(ctx, slot),
            )
            await self.reopen(ctx, values, drop=("slot",), message=message)
            return
        spec = services_data(ctx).facilities
        note = name(ctx, "facilities.change_note", spec.change_note)
        self.done(
            ctx,
            title=self.title_in(ctx),
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                name(ctx, "facilities.payment", spec.payment),
                _t(
                    ctx,
                    "cancel_note",
                    "【取消し】{note}（{name}：{phone}）",
                    note=note,
                    name=place_name(ctx, facility),
                    phone=facility.phone,
                ),
            ],
        )
