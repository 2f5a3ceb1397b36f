"""施設予約's words in the conversation's language: names of facilities, rooms and time slots
from services_en.yml, and the room an English message names (handlers/form_texts.py)."""

from __future__ import annotations

import re
from typing import Any

from bot.engine.turn import TurnContext
from handlers.form_texts import english, name, texts_of, tr
from knowledge.services_data import Facility, Room, ServicesData, TimeSlot


def room_label(facility: Facility, room: Room, ctx: TurnContext | None = None) -> str:
    if ctx is not None and english(ctx):
        return f"{place_name(ctx, facility)}, {name(ctx, f'facilities.rooms.{room.id}', room.name)}"
    return f"{facility.name} {room.name}"


def place_name(ctx: TurnContext, facility: Facility) -> str:
    return name(ctx, f"facilities.places.{facility.id}", facility.name)


def slot_label(ctx: TurnContext, slot: TimeSlot) -> str:
    return name(ctx, f"facilities.slots.{slot.id}", slot.label)


def facility_text(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    return tr(ctx, f"facility_booking.texts.{key}", ja, **values)


def match_room_en(ctx: TurnContext, data: ServicesData, text: str) -> str | None:
    """The room an English message names ("meeting room A at Chuo", "the gym"); None when unclear."""
    low = text.lower()
    best: list[tuple[int, str]] = []
    for facility in data.facilities.places:
        in_facility = place_name(ctx, facility).lower() in low
        for room in facility.rooms:
            words = texts_of(ctx).service_name(f"facilities.rooms.{room.id}") or []
            if any(re.search(rf"\b{re.escape(str(w).lower())}\b", low) for w in words):
                best.append((2 + int(in_facility), room.id))
    best.sort(reverse=True)
    if not best or (len(best) > 1 and best[0][0] == best[1][0]):
        return None
    return best[0][1]
