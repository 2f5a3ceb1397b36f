"""介護の相談: who it is for, what about, where the resident lives, and how (a visit or a call):
the slots' words and readings, in the conversation's language (handlers/form_texts.py)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.bulky_english import english_town, town_unknown
from handlers.form_texts import english, name, tr
from handlers.reservations import services_data
from knowledge.services_data import CareCenter

RELATIONS = {
    "self": "ご本人",
    "spouse": "配偶者",
    "mother": "お母さま",
    "father": "お父さま",
    "parent": "親御さん",
    "grandmother": "祖母",
    "grandfather": "祖父",
    "child": "お子さん",
    "grandchild": "お孫さん",
    "sibling": "ごきょうだい",
}
RELATION_BUTTONS = ("self", "mother", "father", "spouse")
TOPICS = ("介護サービスを使いたい", "物忘れが心配", "介護保険の申請", "施設への入所", "家族の介護の負担")
MAX_TOPIC = 120


def center_of(ctx: TurnContext, values: dict[str, Any]) -> CareCenter | None:
    area = (values.get("town") or {}).get("area")
    return services_data(ctx).care_center(area) if area else None


def care_text(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    return tr(ctx, f"care_consultation.texts.{key}", ja, **values)


def relation_text(ctx: TurnContext, relation: str) -> str:
    return care_text(ctx, f"relations.{relation}", RELATIONS.get(relation, relation))


def center_name(ctx: TurnContext, center: CareCenter) -> str:
    return name(ctx, f"care.centers.{center.id}", center.name)


def requested(ctx: TurnContext, slot: str) -> bool:
    form = ctx.state.active_form
    return form is not None and form.requested_slot == slot


# -- who ---------------------------------------------------------------------------------------
def extract_relation(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    value = ctx.parse.entity("relation")
    if value in RELATIONS:
        return str(value)
    if requested(ctx, "relation") and any(w in ctx.parse.text for w in ("自分", "本人", "私")):
        return "self"
    if requested(ctx, "relation") and english(ctx) and re.search(r"\b(?:me|myself|i|self)\b", ctx.parse.text.lower()):
        return "self"
    return None


def relation_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(relation_text(ctx, r), payload("inform", relation=r)) for r in RELATION_BUTTONS]


# -- what about --------------------------------------------------------------------------------
def extract_topic(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("topic")
    if isinstance(given, str):
        return given
    if ctx.parse.from_payload:
        return None
    return unicodedata.normalize("NFKC", ctx.parse.text).strip() or None


def validate_topic(_ctx: TurnContext, topic: str, _values: dict[str, Any]) -> str | None:
    if len(topic) > MAX_TOPIC:
        return care_text(
            _ctx,
            "topic_long",
            "ご相談の内容は{max}字以内で短く教えてください。くわしくは相談のときにうかがいます。",
            max=MAX_TOPIC,
        )
    return None


def topic_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(name(ctx, f"care.topics.{t}", t), payload("inform", topic=t)) for t in TOPICS]


# -- where -------------------------------------------------------------------------------------
def extract_town(ctx: TurnContext, _values: dict[str, Any]) -> dict[str, str] | None:
    latin = english_town(ctx, ctx.parse.text) if english(ctx) else None
    if latin is not None:
        return {"town": latin[0], "area": latin[1]}
    found = services_data(ctx).find_town(ctx.parse.text)
    if found:
        return {"town": found[0], "area": found[1]}
    if requested(ctx, "town") and not ctx.parse.from_payload:
        return {"town": "", "area": ""}
    return None


def validate_town(ctx: TurnContext, value: dict[str, str], _values: dict[str, Any]) -> str | None:
    return None if value["town"] else town_unknown(ctx)


# -- how ---------------------------------------------------------------------------------------
def extract_method(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("method")
    if given in ("visit", "phone"):
        return str(given)
    if not requested(ctx, "method"):
        return None
    low = ctx.parse.text.lower()
    if "電話" in ctx.parse.text or (english(ctx) and re.search(r"\b(?:phone|call|telephone)\b", low)):
        return "phone"
    if any(w in ctx.parse.text for w in ("予約", "行", "面談", "センター", "窓口")):
        return "visit"
    if english(ctx) and re.search(r"\b(?:visit|book|center|centre|in person|go|yes)\b", low):
        return "visit"
    return None


def method_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [
        Button(care_text(ctx, "visit", "センターで相談（予約する）"), payload("inform", method="visit")),
        Button(care_text(ctx, "phone", "電話で相談する"), payload("inform", method="phone")),
    ]
