"""一時預かり: child's age, date, time range, facility; capacity checked; reservation created.

"来週火曜に2歳の子を預けたい" fills the date and the age at once. Ages are kept in months
("8か月" or "2歳" = 24). Facilities come from services.yml: the ages each accepts, hours, closed
weekdays, places per day and fee per hour.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import date, time
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.contact import contact_details
from handlers.forms import Slot, as_int
from handlers.reservations import (
    BookingForm,
    as_date,
    date_buttons,
    daytime_span,
    holding,
    next_days,
    render_date,
    services_data,
    taken,
    window_problem,
    yen,
)
from knowledge.bookings import Capacity
from knowledge.profile import load_turn_profile
from knowledge.residents import audit
from knowledge.services_data import ChildcareFacility, format_date, weekday_of
from nlu.day_parts import day_part, pick
from nlu.numerals import NUM, parse_number

_MONTHS = re.compile(rf"({NUM})\s*(?:か月|ヶ月|カ月|ヵ月|ケ月|かげつ)")
TIME_BUTTONS = (("09:00", "12:00"), ("09:00", "17:00"), ("13:00", "17:00"))


def render_age(months: int) -> str:
    return f"{months // 12}歳" if months >= 12 else f"{months}か月"


def _range_text(f: ChildcareFacility) -> str:
    upper = f"{(f.max_months + 1) // 12}歳未満" if (f.max_months + 1) % 12 == 0 else f"{render_age(f.max_months)}まで"
    return f"{f.name}：{render_age(f.min_months)}から{upper}"


def _accepting(ctx: TurnContext, values: dict[str, Any]) -> list[ChildcareFacility]:
    months = values.get("age")
    facilities = services_data(ctx).childcare.facilities
    return [f for f in facilities if months is None or f.accepts(int(months))]


def _open_on(f: ChildcareFacility, day: date) -> bool:
    return weekday_of(day) not in f.closed_weekdays


def _has_place(ctx: TurnContext, f: ChildcareFacility, day: date) -> bool:
    return taken(f.id, day) < f.capacity_per_day


def _fits_hours(f: ChildcareFacility, span: dict[str, Any] | None) -> bool:
    return span is None or (f.open <= span["start"] and span["end"] <= f.close)


def candidates(ctx: TurnContext, values: dict[str, Any]) -> list[ChildcareFacility]:
    """Facilities that take this child on this day, at these hours, with a place left."""
    day = as_date(values.get("date"))
    out = []
    for f in _accepting(ctx, values):
        if day is not None and not (_open_on(f, day) and _has_place(ctx, f, day)):
            continue
        if _fits_hours(f, values.get("hours")):
            out.append(f)
    return out


# -- age ---------------------------------------------------------------------------------------
# A linked resident who consented to the use of their household data is offered the ages of the
# household's small children as buttons ("2歳のお子さん"): no name, only the age the form needs.
# The household is read once per turn while the age is still asked, consent-gated in SQL
# (`load_turn_profile`), and every read that offers buttons is in the audit log.
_CHILDREN: ContextVar[tuple[int, ...]] = ContextVar("household_children_months", default=())


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


def _age_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(f"{render_age(m)}のお子さん", payload("inform", age_months=m)) for m in _CHILDREN.get()[:3]]


def _extract_age(ctx: TurnContext, _values: dict[str, Any]) -> int | None:
    if ctx.parse.from_payload and ctx.parse.entity("age_months") is not None:
        return as_int(ctx.parse.entity("age_months"))
    match = _MONTHS.search(unicodedata.normalize("NFKC", ctx.parse.text))
    if match:
        return parse_number(match.group(1))
    years = as_int(ctx.parse.entity("age"))
    return years * 12 if years is not None else None


def _validate_age(ctx: TurnContext, months: int, values: dict[str, Any]) -> str | None:
    if months < 0:
        return "お子さんの年齢は0歳以上で教えてください。"
    if _accepting(ctx, {"age": months}):
        return None
    ranges = "\n".join(f"・{_range_text(f)}" for f in services_data(ctx).childcare.facilities)
    return (
        f"申し訳ありません。{render_age(months)}のお子さんを一時預かりできる施設はありません。\n対象の年齢：\n{ranges}"
    )


# -- date --------------------------------------------------------------------------------------
def _validate_date(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    day = as_date(value)
    if day is None:
        return "日付がわかりませんでした。"
    problem = window_problem(ctx, day, data.childcare, data)
    if problem:
        return problem
    accepting = _accepting(ctx, values)
    chosen = data.childcare_facility(str(values.get("facility", "")))
    if chosen is not None and not _open_on(chosen, day):
        return f"{format_date(day)}は{chosen.name}の休園日です（休み：{'・'.join(chosen.closed_weekdays)}曜日）。"
    open_ones = [f for f in accepting if _open_on(f, day)]
    if not open_ones:
        return f"{format_date(day)}はお子さんを預けられる施設がお休みです。"
    if not any(_has_place(ctx, f, day) for f in open_ones):
        return f"{format_date(day)}はどの施設も定員に達しています。"
    return None


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    accepting = _accepting(ctx, values)
    days = [
        d
        for d in next_days(ctx, services_data(ctx).childcare)
        if not services_data(ctx).is_closed_date(d) and any(_open_on(f, d) for f in accepting)
    ]
    return date_buttons(days[:4])


# -- hours -------------------------------------------------------------------------------------
def _extract_hours(ctx: TurnContext, _values: dict[str, Any]) -> dict[str, Any] | None:
    given = ctx.parse.entity("hours")
    if isinstance(given, str) and "-" in given:
        start, end = given.split("-", 1)
        return {"start": start, "end": end}
    part = day_part(ctx.parse.text)  # 「ごご」「あさ」: the preset span within it, when one fits
    if part is not None:
        chosen = pick(list(TIME_BUTTONS), part)
        if len(chosen) == 1:
            start, end = TIME_BUTTONS[chosen[0]]
            return {"start": start, "end": end}
        return None  # none or several: the question is asked again with the spans as buttons
    earliest = min(f.open for f in services_data(ctx).childcare.facilities)
    times = daytime_span(list(ctx.parse.entity_values("time")), ctx.parse.text, earliest)
    if not times:
        return None
    return {"start": times[0], "end": times[1] if len(times) > 1 else ""}


def _validate_hours(ctx: TurnContext, span: dict[str, Any], values: dict[str, Any]) -> str | None:
    if not span["end"]:
        return "何時から何時までか、両方を教えてください。（例：9時から15時）"
    try:
        start, end = time.fromisoformat(span["start"]), time.fromisoformat(span["end"])
    except ValueError:
        return "時刻がわかりませんでした。（例：9時から15時）"
    if start >= end:
        return "終わりの時刻は始まりより後にしてください。"
    facilities = [f for f in _accepting(ctx, values) if not values.get("date") or _open_on(f, as_date(values["date"]))]  # type: ignore[arg-type]
    if not any(_fits_hours(f, span) for f in facilities):
        hours = "\n".join(f"・{f.name}：{f.open}〜{f.close}" for f in facilities)
        return f"{span['start']}〜{span['end']}に預かれる施設がありません。利用できる時間は次のとおりです。\n{hours}"
    return None


def _hours_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(f"{s}〜{e}", payload("inform", hours=f"{s}-{e}")) for s, e in TIME_BUTTONS]


def render_hours(span: dict[str, Any]) -> str:
    return f"{span['start']}〜{span['end']}"


# -- facility ----------------------------------------------------------------------------------
def _extract_facility(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("facility")
    facilities = services_data(ctx).childcare.facilities
    if isinstance(given, str) and any(f.id == given for f in facilities):
        return given
    text = unicodedata.normalize("NFKC", ctx.parse.text)
    for f in facilities:
        short = f.name.replace("保育園", "").replace("子育てプラザ", "プラザ")
        if f.name in text or (len(short) >= 2 and short in text):
            return f.id
    return None


def _validate_facility(ctx: TurnContext, facility_id: str, values: dict[str, Any]) -> str | None:
    f = services_data(ctx).childcare_facility(facility_id)
    if f is None:
        return "その施設は見つかりませんでした。"
    if values.get("age") is not None and not f.accepts(int(values["age"])):
        others = "、".join(x.name for x in _accepting(ctx, values))
        age = render_age(int(values["age"]))
        accepted = _range_text(f).split("：")[1]
        return f"{f.name}は{accepted}のお子さんが対象です。{age}のお子さんは{others}をご利用いただけます。"
    day = as_date(values.get("date"))
    if day is not None and not _open_on(f, day):
        return f"{format_date(day)}は{f.name}の休園日です。"
    if day is not None and not _has_place(ctx, f, day):
        return f"{format_date(day)}の{f.name}は定員に達しています。"
    if not _fits_hours(f, values.get("hours")):
        return f"{f.name}の利用時間は{f.open}〜{f.close}です。"
    return None


def _facility_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    return [Button(f.name, payload("inform", facility=f.id)) for f in candidates(ctx, values)]


def fee(f: ChildcareFacility, span: dict[str, Any], unit_minutes: int) -> int:
    start, end = time.fromisoformat(span["start"]), time.fromisoformat(span["end"])
    minutes = (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
    units = math.ceil(minutes / unit_minutes)
    return units * f.fee_per_hour * unit_minutes // 60


class ChildcareForm(BookingForm):
    name = "childcare_temporary"
    kind = "childcare_temporary"
    intents = frozenset({"childcare_temporary"})
    title = "一時預かりの予約"
    slots = (
        Slot(
            "age",
            "お子さんの年齢を教えてください。（例：2歳、8か月）",
            "お子さんの年齢",
            extract=_extract_age,
            validate=_validate_age,
            choices=_age_choices,
            render=render_age,
            aliases=("年齢", "歳"),
        ),
        Slot(
            "date",
            "預けたい日を教えてください。（例：12月3日）",
            "利用日",
            entity="date",
            validate=_validate_date,
            choices=_date_choices,
            render=render_date,
            aliases=("日付", "日にち"),
        ),
        Slot(
            "hours",
            "何時から何時まで預けますか。（例：9時から15時）",
            "時間",
            extract=_extract_hours,
            validate=_validate_hours,
            choices=_hours_choices,
            render=render_hours,
            aliases=("時刻", "時間帯"),
        ),
        Slot(
            "facility",
            "利用する施設を選んでください。",
            "施設",
            extract=_extract_facility,
            validate=_validate_facility,
            choices=_facility_choices,
            render=lambda v: v,
            aliases=("保育園", "場所"),
        ),
    )

    async def start(self, ctx: TurnContext) -> bool:
        ctx.say("一時預かりの予約をお手伝いします。途中で「やめる」と送ると取りやめられます。")
        return True

    async def _snapshot(self, ctx: TurnContext):  # type: ignore[no-untyped-def]
        """The booked places, and while the age is still to be asked, the household's children."""
        booked = await super()._snapshot(ctx)
        form = ctx.state.active_form
        asking_age = form is None or form.name != self.name or "age" not in form.slots
        children: tuple[int, ...] = ()
        if asking_age and ctx.parse.entity("age") is None:
            oldest = max(f.max_months for f in services_data(ctx).childcare.facilities)
            children = await household_children(ctx, oldest)
        return _both(booked, children)

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        data = services_data(ctx)
        f = data.childcare_facility(values["facility"])
        assert f is not None
        return [
            f"お子さんの年齢：{render_age(int(values['age']))}",
            f"利用日：{format_date(as_date(values['date']))}",  # type: ignore[arg-type]
            f"時間：{render_hours(values['hours'])}",
            f"施設：{f.name}（{f.address}）",
            f"利用料：{yen(fee(f, values['hours'], data.childcare.unit_minutes))}（1時間{yen(f.fee_per_hour)}）",
        ]

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        data = services_data(ctx)
        f = data.childcare_facility(values["facility"])
        day = as_date(values["date"])
        assert f is not None and day is not None
        span = values["hours"]
        details = {
            "age_months": values["age"],
            "facility": f.name,
            "fee": fee(f, span, data.childcare.unit_minutes),
            **contact_details(values),
        }
        number = await self.book(
            ctx,
            resource=f.id,
            day=day,
            capacity=Capacity(f.capacity_per_day),
            details=details,
            start=span["start"],
            end=span["end"],
        )
        if number is None:
            await self.reopen(
                ctx,
                values,
                drop=("facility",),
                message=f"申し訳ありません。{format_date(day)}の{f.name}はたった今、定員に達しました。",
            )
            return
        spec = data.childcare
        self.done(
            ctx,
            title="一時預かりの予約",
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                f"【持ち物】{'、'.join(spec.bring)}",
                spec.payment,
                f"【取消し・変更】{spec.change_note}（{f.name}：{f.phone}）",
            ],
        )


@contextmanager
def _both(booked: AbstractContextManager[None], children: tuple[int, ...]) -> Iterator[None]:
    with holding(_CHILDREN, children), booked:
        yield
