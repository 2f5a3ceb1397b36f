"""一時預かり: the child's age (in months), the ages each facility takes, and the household's
children offered as buttons; words in the conversation's language (handlers/form_texts.py)."""

from __future__ import annotations

import re
import unicodedata
from contextvars import ContextVar
from datetime import date
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.form_texts import english, name, tr
from handlers.forms import as_int
from handlers.reservations import services_data
from knowledge.profile import load_turn_profile
from knowledge.residents import audit
from knowledge.services_data import ChildcareFacility
from nlu.numerals import NUM, parse_number

FORM = "childcare_temporary"

_MONTHS = re.compile(rf"({NUM})\s*(?:か月|ヶ月|カ月|ヵ月|ケ月|かげつ)")


def render_age(months: int) -> str:
    return f"{months // 12}歳" if months >= 12 else f"{months}か月"


def age_text(ctx: TurnContext, months: int) -> str:
    if not english(ctx):
        return render_age(months)
    if months >= 12:
        return f"{months // 12} year{'s' if months >= 24 else ''}"
    return f"{months} month{'s' if months != 1 else ''}"


def facility_name(ctx: TurnContext, f: ChildcareFacility) -> str:
    return name(ctx, f"childcare.facilities.{f.id}", f.name)


def accepted_range(ctx: TurnContext, f: ChildcareFacility) -> str:
    """「6か月から6歳未満」 / "6 months to under 6 years"."""
    if english(ctx):
        whole = (f.max_months + 1) % 12 == 0
        upper = f"under {(f.max_months + 1) // 12} years" if whole else age_text(ctx, f.max_months)
        return f"{age_text(ctx, f.min_months)} to {upper}"
    upper = f"{(f.max_months + 1) // 12}歳未満" if (f.max_months + 1) % 12 == 0 else f"{render_age(f.max_months)}まで"
    return f"{render_age(f.min_months)}から{upper}"


def range_text(ctx: TurnContext, f: ChildcareFacility) -> str:
    sep = ": " if english(ctx) else "："
    return f"{facility_name(ctx, f)}{sep}{accepted_range(ctx, f)}"


def accepting(ctx: TurnContext, values: dict[str, Any]) -> list[ChildcareFacility]:
    months = values.get("age")
    facilities = services_data(ctx).childcare.facilities
    return [f for f in facilities if months is None or f.accepts(int(months))]


# -- age ---------------------------------------------------------------------------------------
# A linked resident who consented to the use of their household data is offered the ages of the
# household's small children as buttons ("2歳のお子さん"): no name, only the age the form needs.
# The household is read once per turn while the age is still asked, consent-gated in SQL
# (`load_turn_profile`), and every read that offers buttons is in the audit log.
CHILDREN: ContextVar[tuple[int, ...]] = ContextVar("household_children_months", default=())


def months_between(birth: date, today: date) -> int:
    months = (today.year - birth.year) * 12 + today.month - birth.month
    return months - (1 if today.day < birth.day else 0)


async def household_children(ctx: TurnContext, max_months: int) -> tuple[int, ...]:
    """Ages in months of the linked resident's household members up to `max_months` (never the
    resident), youngest first; () without a linked resident or without consent."""
    rid = ctx.state.resident_id
    if rid is None:
        return ()
    session = ctx.db
    turn = await load_turn_profile(session, rid, with_household=True)
    months = sorted(
        m
        for member_id, birth, _relation, _care, death in turn.rows
        if member_id != rid and birth is not None and death is None
        for m in (months_between(birth, ctx.today),)
        if 0 <= m <= max_months
    )
    if months:
        session.add(
            audit(
                actor="system",
                action="read_profile",
                why="一時預かりの予約: お子さんの年齢の候補",
                resident_id=rid,
                conversation_id=ctx.event.conversation_id,
            )
        )
    return tuple(months)


def age_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [
        Button(
            tr(ctx, f"{FORM}.texts.age_button", "{age}のお子さん", age=age_text(ctx, m)),
            payload("inform", age_months=m),
        )
        for m in CHILDREN.get()[:3]
    ]


_MONTHS_EN = re.compile(r"\b(\d{1,2})\s*(?:months?|mos?)\b", re.I)
_YEARS_EN = re.compile(r"\b(\d{1,2})\s*(?:years?|yrs?|y/?o)\b|^\s*(\d{1,2})\s*$", re.I)


def extract_age(ctx: TurnContext, _values: dict[str, Any]) -> int | None:
    if ctx.parse.from_payload and ctx.parse.entity("age_months") is not None:
        return as_int(ctx.parse.entity("age_months"))
    match = _MONTHS.search(unicodedata.normalize("NFKC", ctx.parse.text))
    if match:
        return parse_number(match.group(1))
    if english(ctx):  # "8 months old", "2 years", "2" (to the age question)
        months = _MONTHS_EN.search(ctx.parse.text)
        if months:
            return int(months.group(1))
        years_en = _YEARS_EN.search(ctx.parse.text)
        form = ctx.state.active_form
        bare = years_en is not None and years_en.group(2) is not None
        if years_en and (not bare or (form is not None and form.requested_slot == "age")):
            return int(years_en.group(1) or years_en.group(2)) * 12
    years = as_int(ctx.parse.entity("age"))
    return years * 12 if years is not None else None


def validate_age(ctx: TurnContext, months: int, values: dict[str, Any]) -> str | None:
    if months < 0:
        return tr(ctx, f"{FORM}.texts.age_negative", "お子さんの年齢は0歳以上で教えてください。")
    if accepting(ctx, {"age": months}):
        return None
    bullet = "- " if english(ctx) else "・"
    ranges = "\n".join(f"{bullet}{range_text(ctx, f)}" for f in services_data(ctx).childcare.facilities)
    return tr(
        ctx,
        f"{FORM}.texts.age_none",
        "申し訳ありません。{age}のお子さんを一時預かりできる施設はありません。\n対象の年齢：\n{ranges}",
        age=age_text(ctx, months),
        ranges=ranges,
    )
