"""介護の相談: who it is for, what about, the 地域包括支援センター of the area, then either a
consultation appointment (date and time) or the centre's phone and hours for a call.

The centre is the one of the resident's 町名 (services.yml maps 町名 to areas and areas to centres),
so "デモ区中央1-1-1" goes to the 中央 centre. Nothing is created for a phone consultation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.care_slots import (
    RELATIONS,
    care_text,
    center_name,
    center_of,
    extract_method,
    extract_relation,
    extract_topic,
    extract_town,
    method_choices,
    relation_choices,
    relation_text,
    topic_choices,
    validate_topic,
    validate_town,
)
from handlers.contact import contact_details
from handlers.form_texts import day_text, english, joined, name, texts_of, weekdays_text
from handlers.forms import Slot
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
)
from knowledge.bookings import Capacity
from knowledge.services_data import CareCenter, weekday_of


# -- when --------------------------------------------------------------------------------------
def _free_times(ctx: TurnContext, center: CareCenter, day: date) -> list[str]:
    spec = services_data(ctx).care.consultation
    return [t for t in spec.times if taken(center.id, day, t, _end(t, spec.minutes)) < spec.per_slot]


def _end(start: str, minutes: int) -> str:
    return (datetime.strptime(start, "%H:%M") + timedelta(minutes=minutes)).strftime("%H:%M")


def _validate_date(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    data = services_data(ctx)
    day = as_date(value)
    if day is None:
        return no_date(ctx)
    spec = data.care.consultation
    problem = window_problem(ctx, day, spec, data)
    if problem:
        return problem
    said = day_text(ctx, day)
    if weekday_of(day) not in spec.weekdays:
        days = weekdays_text(ctx, spec.weekdays)
        return care_text(ctx, "not_day", "{day}は相談をお受けしていません。相談日は{days}です。", day=said, days=days)
    center = center_of(ctx, values)
    if center and not _free_times(ctx, center, day):
        return care_text(ctx, "day_full", "{day}の相談枠はすべて埋まっています。", day=said)
    return None


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    data, center = services_data(ctx), center_of(ctx, values)
    spec = data.care.consultation
    days = [
        d
        for d in next_days(ctx, spec)
        if weekday_of(d) in spec.weekdays
        and not data.is_closed_date(d)
        and (center is None or _free_times(ctx, center, d))
    ]
    return date_buttons(ctx, days[:4])


def _extract_time(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    value = ctx.parse.entity("time")
    if value is None:
        return None
    times = services_data(ctx).care.consultation.times
    return daytime_time(value, ctx.parse.text, min(times)) or str(value)


def _validate_time(ctx: TurnContext, value: str, values: dict[str, Any]) -> str | None:
    center, day = center_of(ctx, values), as_date(values.get("date"))
    times = services_data(ctx).care.consultation.times
    if value not in times:
        return care_text(ctx, "times", "相談の開始時刻は{times}のいずれかです。", times=joined(ctx, times))
    if center and day and value not in _free_times(ctx, center, day):
        return care_text(
            ctx, "time_taken", "{day}の{time}はすでに予約が入っています。", day=day_text(ctx, day), time=value
        )
    return None


def _time_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    center, day = center_of(ctx, values), as_date(values.get("date"))
    if center is None or day is None:
        return []
    return [Button(t, payload("inform", time=t)) for t in _free_times(ctx, center, day)]


def _visit(values: dict[str, Any]) -> bool:
    return values.get("method") == "visit"


def center_lines(center: CareCenter, ctx: TurnContext | None = None) -> list[str]:
    if ctx is None or not english(ctx):
        return [center.name, f"住所：{center.address}", f"電話：{center.phone}", f"受付：{center.hours}"]
    return [
        center_name(ctx, center),
        care_text(ctx, "center_address", "", address=center.address),
        care_text(ctx, "center_phone", "", phone=center.phone),
        care_text(ctx, "center_hours", "", hours=texts_of(ctx).glossed(center.hours)),
    ]


class CareConsultationForm(BookingForm):
    name = "care_consultation"
    kind = "care_consultation"
    catch_all = frozenset({"topic", "town"})
    intents = frozenset({"care_consultation"})
    title = "介護の相談の予約"
    slots = (
        Slot(
            "relation",
            "どなたについてのご相談ですか。",
            "どなたの相談",
            extract=extract_relation,
            choices=relation_choices,
            render=lambda v: RELATIONS.get(v, v),
            aliases=("どなた", "対象"),
        ),
        Slot(
            "topic",
            "どのようなご相談ですか。短く教えてください。",
            "相談の内容",
            extract=extract_topic,
            validate=validate_topic,
            choices=topic_choices,
            free_text=True,
            aliases=("内容",),
        ),
        Slot(
            "town",
            "お住まいの町名を教えてください。担当の地域包括支援センターをご案内します。（例：中央1丁目）",
            "お住まいの地域",
            extract=extract_town,
            validate=validate_town,
            render=lambda v: v["town"],
            aliases=("町名", "住所", "地域"),
        ),
        Slot(
            "method",
            "センターでの相談を予約しますか。電話での相談もできます。",
            "相談の方法",
            extract=extract_method,
            choices=method_choices,
            render=lambda v: "センターで相談" if v == "visit" else "電話で相談",
            aliases=("方法",),
        ),
        Slot(
            "date",
            "相談に行く日を選んでください。",
            "相談日",
            entity="date",
            validate=_validate_date,
            choices=_date_choices,
            render=render_date,
            aliases=("日付", "日にち"),
            required=_visit,
        ),
        Slot(
            "time",
            "時間を選んでください。",
            "時間",
            extract=_extract_time,
            validate=_validate_time,
            choices=_time_choices,
            aliases=("時刻",),
            required=_visit,
        ),
    )

    async def start(self, ctx: TurnContext) -> bool:
        note = name(ctx, "care.note", services_data(ctx).care.note)
        ctx.say(care_text(ctx, "start", "介護のご相談ですね。{note}", note=note))
        return True

    def takes_over(self, ctx: TurnContext) -> bool:
        # The topic is the resident's own words; words like "物忘れ" must not start another procedure.
        form = ctx.state.active_form
        if form is not None and form.requested_slot == "topic" and ctx.parse.confidence < 0.95:
            return True
        return super().takes_over(ctx)

    async def _next(self, ctx: TurnContext, *, announce_errors: bool = True) -> None:
        form = self._form(ctx)
        values = self.values(ctx)
        center = center_of(ctx, values)
        if center and values.get("method") == "phone":
            await self._phone_only(ctx, center)
            return
        if center and "method" not in values and not form.slots.get("_center_told"):
            form.slots["_center_told"] = True
            ctx.say(
                care_text(ctx, "center_is", "担当は次のセンターです。"),
                card=Card(
                    title=care_text(ctx, "center_title", "担当の地域包括支援センター"),
                    lines=tuple(center_lines(center, ctx)),
                ),
            )
        await super()._next(ctx, announce_errors=announce_errors)

    async def _phone_only(self, ctx: TurnContext, center: CareCenter) -> None:
        ctx.state.active_form = None
        hours = texts_of(ctx).glossed(center.hours) if english(ctx) else center.hours
        ctx.say(
            care_text(
                ctx,
                "call",
                "{name}へお電話ください。{hours}に受け付けています。\n電話：{phone}",
                name=center_name(ctx, center),
                hours=hours,
                phone=center.phone,
            ),
            card=Card(
                title=care_text(ctx, "center_title", "担当の地域包括支援センター"),
                lines=tuple(center_lines(center, ctx)),
            ),
        )
        self._resume_paused(ctx)

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        center = center_of(ctx, values)
        assert center is not None
        spec = services_data(ctx).care.consultation
        day = as_date(values["date"])
        assert day is not None
        topic = name(ctx, f"care.topics.{values['topic']}", values["topic"])
        return [
            care_text(ctx, "line_about", "どなたの相談：{who}", who=relation_text(ctx, values["relation"])),
            care_text(ctx, "line_topic", "相談の内容：{topic}", topic=topic),
            care_text(
                ctx, "line_center", "相談先：{name}（{address}）", name=center_name(ctx, center), address=center.address
            ),
            care_text(
                ctx,
                "line_when",
                "日時：{day} {start}〜{end}",
                day=day_text(ctx, day),
                start=values["time"],
                end=_end(values["time"], spec.minutes),
            ),
        ]

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        center = center_of(ctx, values)
        day = as_date(values["date"])
        assert center is not None and day is not None
        spec = services_data(ctx).care.consultation
        details = {
            **contact_details(values),
            "relation": values["relation"],
            "topic": values["topic"],
            "center": center.name,
            "town": values["town"]["town"],
        }
        number = await self.book(
            ctx,
            resource=center.id,
            day=day,
            capacity=Capacity(spec.per_slot, by_time=True),
            details=details,
            start=values["time"],
            end=_end(values["time"], spec.minutes),
        )
        if number is None:
            message = care_text(
                ctx,
                "gone",
                "申し訳ありません。{day}の{time}はたった今、予約が入りました。",
                day=day_text(ctx, day),
                time=values["time"],
            )
            await self.reopen(ctx, values, drop=("time",), message=message)
            return
        hours = texts_of(ctx).glossed(center.hours) if english(ctx) else center.hours
        self.done(
            ctx,
            title=self.title_in(ctx),
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                care_text(ctx, "visit_note", "当日は{name}へお越しください。", name=center_name(ctx, center)),
                care_text(
                    ctx,
                    "change",
                    "【変更・取消し】{note}（{phone}、{hours}）",
                    note=name(ctx, "care.change_note", services_data(ctx).care.change_note),
                    phone=center.phone,
                    hours=hours,
                ),
            ],
        )
