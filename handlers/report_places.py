"""The place of a 通報: a shared location (LINE location message, the browser's position) or a
typed address normalised to the municipality's towns, with "did you mean" when unsure.

The slot's value is {"address", "town", "lat", "lon", "source"}; a place the form cannot use
is a value with an "error" ("outside", "unsure", "unknown") that the validator explains.
"""

from __future__ import annotations

import math
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.forms import as_int
from knowledge.base import required
from knowledge.places import PlaceMatch
from knowledge.report_data import ReportData

SUGGEST = "_place_suggest"  # towns offered for the last unsure address (read by the choices)


def report_data(ctx: TurnContext) -> ReportData:
    data = required(ctx.services.knowledge.reports, "reports")
    assert isinstance(data, ReportData)
    return data


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def from_location(ctx: TurnContext) -> dict[str, Any] | None:
    """A location's place: inside the municipality, named by its nearest town."""
    lat = _coordinate(ctx.parse.entity("latitude"), 90)
    lon = _coordinate(ctx.parse.entity("longitude"), 180)
    if lat is None or lon is None:
        return None
    places = report_data(ctx).places
    if not places.inside(lat, lon):
        return {"error": "outside"}
    town = places.nearest_town(lat, lon)
    return {
        "address": f"{places.municipality}{town.name}付近（位置情報）",
        "town": town.name,
        "lat": round(lat, 6),
        "lon": round(lon, 6),
        "source": "location",
    }


def _from_match(ctx: TurnContext, match: PlaceMatch, typed: str) -> dict[str, Any]:
    places = report_data(ctx).places
    if match.elsewhere:
        return {"error": "outside"}
    if match.town is None or match.suggestions:
        return {"error": "unsure" if match.suggestions else "unknown", "suggestions": list(match.suggestions)}
    town = match.town
    return {
        "address": places.label(town, match.chome, match.rest),
        "town": town.name,
        "lat": town.center[0],
        "lon": town.center[1],
        "source": "typed",
        "typed": typed[:200],
    }


def extract_place(ctx: TurnContext, values: dict[str, Any]) -> dict[str, Any] | None:
    located = from_location(ctx)
    if located is not None or ctx.parse.intent == "report_location":
        return located
    form = ctx.state.active_form
    asked = form is not None and form.requested_slot == "place"
    places = report_data(ctx).places
    chosen = ctx.parse.entity("town") if ctx.parse.from_payload else None
    if isinstance(chosen, str) and places.town(chosen) is not None:
        chome = as_int(ctx.parse.entity("chome"))
        return _from_match(ctx, PlaceMatch(town=places.town(chosen), chome=chome), chosen)
    if ctx.parse.from_payload:
        return None
    match = places.match(ctx.parse.text)
    if not asked:  # a town named in the first message ("桜台2丁目の公園の…") counts only when sure
        return _from_match(ctx, match, ctx.parse.text) if match.sure else None
    value = _from_match(ctx, match, ctx.parse.text)
    values[SUGGEST] = value.get("suggestions", [])
    return value


def validate_place(ctx: TurnContext, value: dict[str, Any], _values: dict[str, Any]) -> str | None:
    error = value.get("error")
    if error == "outside":
        return report_data(ctx).outside
    if error == "unsure":
        return "町名を確かめさせてください。次の町でよろしいですか。（違う場合は町名と番地をもう一度送ってください）"
    if error == "unknown":
        towns = "、".join(t.name for t in report_data(ctx).places.towns[:4])
        return f"町名が見つかりませんでした。町名と番地で教えてください。（例：{towns}）"
    return None


def place_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    form = ctx.state.active_form
    suggested = (form.slots.get(SUGGEST) if form is not None else None) or []
    buttons = [Button(name, payload("inform", town=name)) for name in suggested if isinstance(name, str)]
    if ctx.event.channel == "line":
        buttons.append(Button("位置情報を送る", "", url="line:location"))
    return buttons


def render_place(value: dict[str, Any]) -> str:
    return str(value.get("address", ""))
