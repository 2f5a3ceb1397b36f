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
from datetime import date, time
from typing import Any

from bot.engine.events import Button
from bot.engine.turn import TurnContext, payload
from handlers.childcare_age import (
    CHILDREN,
    accepted_range,
    accepting,
    age_choices,
    age_text,
    extract_age,
    facility_name,
    household_children,
    render_age,
    validate_age,
)
from handlers.contact import contact_details
from handlers.form_texts import day_text, en_services, english, joined, name, span_text, tr, weekdays_text, yen_text
from handlers.forms import Slot
from handlers.reservations import (
    BookingForm,
    as_date,
    date_buttons,
    daytime_span,
    holding,
    next_days,
    no_date,
    render_date,
    services_data,
    taken,
    window_problem,
)
from knowledge.bookings import Capacity
from knowledge.services_data import ChildcareFacility, weekday_of
from nlu.day_parts import day_part, pick

TIME_BUTTONS = (("09:00", "12:00"), ("09:00", "17:00"), ("13:00", "17:00"))
FORM = "childcare_temporary"


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
    for f in accepting(ctx, values):
        if day is not None and not (_open_on(f, day) and _has_place(ctx, f, day)):
            continue
        if _fits_hours(f, values.get("hours")):
            out.append(f)
    return out


# -- date --------------------------------------------------------------------------------------
def _validate_date(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    day = as_date(value)
    if day is None:
        return no_date(ctx)
    problem = window_problem(ctx, day, data.childcare, data)
    if problem:
        return problem
    taking = accepting(ctx, values)
    chosen = data.childcare_facility(str(values.get("facility", "")))
    said = day_text(ctx, day)
    if chosen is not None and not _open_on(chosen, day):
        return tr(
            ctx,
            f"{FORM}.texts.closed_on",
            "{day}は{name}の休園日です（休み：{days}）。",
            day=said,
            name=facility_name(ctx, chosen),
            days=weekdays_text(ctx, chosen.closed_weekdays),
        )
    open_ones = [f for f in taking if _open_on(f, day)]
    if not open_ones:
        return tr(ctx, f"{FORM}.texts.all_closed", "{day}はお子さんを預けられる施設がお休みです。", day=said)
    if not any(_has_place(ctx, f, day) for f in open_ones):
        return tr(ctx, f"{FORM}.texts.all_full", "{day}はどの施設も定員に達しています。", day=said)
    return None


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    taking = accepting(ctx, values)
    days = [
        d
        for d in next_days(ctx, services_data(ctx).childcare)
        if not services_data(ctx).is_closed_date(d) and any(_open_on(f, d) for f in taking)
    ]
    return date_buttons(ctx, days[:4])


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
        return tr(ctx, f"{FORM}.texts.hours_both", "何時から何時までか、両方を教えてください。（例：9時から15時）")
    try:
        start, end = time.fromisoformat(span["start"]), time.fromisoformat(span["end"])
    except ValueError:
        return tr(ctx, f"{FORM}.texts.hours_bad", "時刻がわかりませんでした。（例：9時から15時）")
    if start >= end:
        return tr(ctx, f"{FORM}.texts.hours_order", "終わりの時刻は始まりより後にしてください。")
    facilities = [f for f in accepting(ctx, values) if not values.get("date") or _open_on(f, as_date(values["date"]))]  # type: ignore[arg-type]
    if not any(_fits_hours(f, span) for f in facilities):
        bullet, sep = ("- ", ": ") if english(ctx) else ("・", "：")
        hours = "\n".join(f"{bullet}{facility_name(ctx, f)}{sep}{span_text(ctx, f.open, f.close)}" for f in facilities)
        return tr(
            ctx,
            f"{FORM}.texts.hours_none",
            "{start}〜{end}に預かれる施設がありません。利用できる時間は次のとおりです。\n{hours}",
            start=span["start"],
            end=span["end"],
            hours=hours,
        )
    return None


def _hours_choices(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(span_text(ctx, s, e), payload("inform", hours=f"{s}-{e}")) for s, e in TIME_BUTTONS]


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
    if english(ctx):  # "Himawari", "Minato Infant Room": a word of the English name
        low = text.lower()
        for f in facilities:
            en = facility_name(ctx, f).lower()
            if en in low or any(len(w) >= 5 and re.search(rf"\b{w}\b", low) for w in en.split()[:1]):
                return f.id
    return None


def _validate_facility(ctx: TurnContext, facility_id: str, values: dict[str, Any]) -> str | None:
    f = services_data(ctx).childcare_facility(facility_id)
    if f is None:
        return tr(ctx, f"{FORM}.texts.facility_unknown", "その施設は見つかりませんでした。")
    fname = facility_name(ctx, f)
    if values.get("age") is not None and not f.accepts(int(values["age"])):
        return tr(
            ctx,
            f"{FORM}.texts.facility_age",
            "{name}は{range}のお子さんが対象です。{age}のお子さんは{others}をご利用いただけます。",
            name=fname,
            range=accepted_range(ctx, f),
            age=age_text(ctx, int(values["age"])),
            others=joined(ctx, (facility_name(ctx, x) for x in accepting(ctx, values))),
        )
    day = as_date(values.get("date"))
    if day is not None and not _open_on(f, day):
        return tr(
            ctx, f"{FORM}.texts.facility_closed", "{day}は{name}の休園日です。", day=day_text(ctx, day), name=fname
        )
    if day is not None and not _has_place(ctx, f, day):
        return tr(
            ctx,
            f"{FORM}.texts.facility_full",
            "{day}の{name}は定員に達しています。",
            day=day_text(ctx, day),
            name=fname,
        )
    if not _fits_hours(f, values.get("hours")):
        return tr(
            ctx,
            f"{FORM}.texts.facility_hours",
            "{name}の利用時間は{open}〜{close}です。",
            name=fname,
            open=f.open,
            close=f.close,
        )
    return None


def _facility_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    return [Button(facility_name(ctx, f), payload("inform", facility=f.id)) for f in candidates(ctx, values)]


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
            extract=extract_age,
            validate=validate_age,
            choices=age_choices,
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
        if english(ctx):
            ctx.say(f"{self.text(ctx, 'start', '')} {tr(ctx, 'common.note_cancel', '')}".strip())
            return True
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
        day = as_date(values["date"])
        assert f is not None and day is not None
        span = values["hours"]
        return [
            self.text(ctx, "line_age", "お子さんの年齢：{age}", age=age_text(ctx, int(values["age"]))),
            self.text(ctx, "line_date", "利用日：{day}", day=day_text(ctx, day)),
            self.text(ctx, "line_hours", "時間：{hours}", hours=span_text(ctx, span["start"], span["end"])),
            self.text(ctx, "line_facility", "施設：{name}（{address}）", name=facility_name(ctx, f), address=f.address),
            self.text(
                ctx,
                "line_fee",
                "利用料：{fee}（1時間{per_hour}）",
                fee=yen_text(ctx, fee(f, span, data.childcare.unit_minutes)),
                per_hour=yen_text(ctx, f.fee_per_hour),
            ),
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
            message = self.text(
                ctx,
                "gone",
                "申し訳ありません。{day}の{name}はたった今、定員に達しました。",
                day=day_text(ctx, day),
                name=facility_name(ctx, f),
            )
            await self.reopen(ctx, values, drop=("facility",), message=message)
            return
        spec = data.childcare
        bring = en_services(ctx, "childcare.bring") or list(spec.bring)
        self.done(
            ctx,
            title=self.title_in(ctx),
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                self.text(ctx, "bring", "【持ち物】{items}", items=joined(ctx, bring)),
                name(ctx, "childcare.payment", spec.payment),
                self.text(
                    ctx,
                    "change",
                    "【取消し・変更】{note}（{name}：{phone}）",
                    note=name(ctx, "childcare.change_note", spec.change_note),
                    name=facility_name(ctx, f),
                    phone=f.phone,
                ),
            ],
        )


@contextmanager
def _both(booked: AbstractContextManager[None], children: tuple[int, ...]) -> Iterator[None]:
    with holding(CHILDREN, children), booked:
        yield
