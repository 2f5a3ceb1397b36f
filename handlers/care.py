"""介護の相談: who it is for, what about, the 地域包括支援センター of the area, then either a
consultation appointment (date and time) or the centre's phone and hours for a call.

The centre is the one of the resident's 町名 (services.yml maps 町名 to areas and areas to centres),
so "デモ区中央1-1-1" goes to the 中央 centre. Nothing is created for a phone consultation.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.contact import contact_details
from handlers.forms import Slot
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
)
from knowledge.bookings import Capacity
from knowledge.services_data import CareCenter, format_date, weekday_of

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


def _center(ctx: TurnContext, values: dict[str, Any]) -> CareCenter | None:
    area = (values.get("town") or {}).get("area")
    return services_data(ctx).care_center(area) if area else None


def _requested(ctx: TurnContext, slot: str) -> bool:
    form = ctx.state.active_form
    return form is not None and form.requested_slot == slot


# -- who ---------------------------------------------------------------------------------------
def _extract_relation(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    value = ctx.parse.entity("relation")
    if value in RELATIONS:
        return str(value)
    if _requested(ctx, "relation") and any(w in ctx.parse.text for w in ("自分", "本人", "私")):
        return "self"
    return None


def _relation_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(RELATIONS[r], payload("inform", relation=r)) for r in RELATION_BUTTONS]


# -- what about --------------------------------------------------------------------------------
def _extract_topic(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("topic")
    if isinstance(given, str):
        return given
    if ctx.parse.from_payload:
        return None
    return unicodedata.normalize("NFKC", ctx.parse.text).strip() or None


def _validate_topic(_ctx: TurnContext, topic: str, _values: dict[str, Any]) -> str | None:
    if len(topic) > MAX_TOPIC:
        return f"ご相談の内容は{MAX_TOPIC}字以内で短く教えてください。くわしくは相談のときにうかがいます。"
    return None


def _topic_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(t, payload("inform", topic=t)) for t in TOPICS]


# -- where -------------------------------------------------------------------------------------
def _extract_town(ctx: TurnContext, _values: dict[str, Any]) -> dict[str, str] | None:
    found = services_data(ctx).find_town(ctx.parse.text)
    if found:
        return {"town": found[0], "area": found[1]}
    if _requested(ctx, "town") and not ctx.parse.from_payload:
        return {"town": "", "area": ""}
    return None


def _validate_town(ctx: TurnContext, value: dict[str, str], _values: dict[str, Any]) -> str | None:
    if value["town"]:
        return None
    towns = "、".join(t for a in services_data(ctx).areas.values() for t in a.towns[:2])
    return f"{services_data(ctx).municipality}の町名が見つかりませんでした。（町名の例：{towns}）"


# -- how ---------------------------------------------------------------------------------------
def _extract_method(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    given = ctx.parse.entity("method")
    if given in ("visit", "phone"):
        return str(given)
    if not _requested(ctx, "method"):
        return None
    if "電話" in ctx.parse.text:
        return "phone"
    if any(w in ctx.parse.text for w in ("予約", "行", "面談", "センター", "窓口")):
        return "visit"
    return None


def _method_choices(_ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [
        Button("センターで相談（予約する）", payload("inform", method="visit")),
        Button("電話で相談する", payload("inform", method="phone")),
    ]


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
        return "日付がわかりませんでした。"
    spec = data.care.consultation
    problem = window_problem(ctx, day, spec, data)
    if problem:
        return problem
    if weekday_of(day) not in spec.weekdays:
        return f"{format_date(day)}は相談をお受けしていません。相談日は{'・'.join(spec.weekdays)}曜日です。"
    center = _center(ctx, values)
    if center and not _free_times(ctx, center, day):
        return f"{format_date(day)}の相談枠はすべて埋まっています。"
    return None


def _date_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    data, center = services_data(ctx), _center(ctx, values)
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
    center, day = _center(ctx, values), as_date(values.get("date"))
    times = services_data(ctx).care.consultation.times
    if value not in times:
        return f"相談の開始時刻は{'、'.join(times)}のいずれかです。"
    if center and day and value not in _free_times(ctx, center, day):
        return f"{format_date(day)}の{value}はすでに予約が入っています。"
    return None


def _time_choices(ctx: TurnContext, values: dict[str, Any]) -> list[Button]:
    center, day = _center(ctx, values), as_date(values.get("date"))
    if center is None or day is None:
        return []
    return [Button(t, payload("inform", time=t)) for t in _free_times(ctx, center, day)]


def _visit(values: dict[str, Any]) -> bool:
    return values.get("method") == "visit"


def center_lines(center: CareCenter) -> list[str]:
    return [center.name, f"住所：{center.address}", f"電話：{center.phone}", f"受付：{center.hours}"]


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
            extract=_extract_relation,
            choices=_relation_choices,
            render=lambda v: RELATIONS.get(v, v),
            aliases=("どなた", "対象"),
        ),
        Slot(
            "topic",
            "どのようなご相談ですか。短く教えてください。",
            "相談の内容",
            extract=_extract_topic,
            validate=_validate_topic,
            choices=_topic_choices,
            free_text=True,
            aliases=("内容",),
        ),
        Slot(
            "town",
            "お住まいの町名を教えてください。担当の地域包括支援センターをご案内します。（例：中央1丁目）",
            "お住まいの地域",
            extract=_extract_town,
            validate=_validate_town,
            render=lambda v: v["town"],
            aliases=("町名", "住所", "地域"),
        ),
        Slot(
            "method",
            "センターでの相談を予約しますか。電話での相談もできます。",
            "相談の方法",
            extract=_extract_method,
            choices=_method_choices,
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
        ctx.say(f"介護のご相談ですね。{services_data(ctx).care.note}")
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
        center = _center(ctx, values)
        if center and values.get("method") == "phone":
            await self._phone_only(ctx, center)
            return
        if center and "method" not in values and not form.slots.get("_center_told"):
            form.slots["_center_told"] = True
            ctx.say(
                "担当は次のセンターです。",
                card=Card(title="担当の地域包括支援センター", lines=tuple(center_lines(center))),
            )
        await super()._next(ctx, announce_errors=announce_errors)

    async def _phone_only(self, ctx: TurnContext, center: CareCenter) -> None:
        ctx.state.active_form = None
        ctx.say(
            f"{center.name}へお電話ください。{center.hours}に受け付けています。\n電話：{center.phone}",
            card=Card(title="担当の地域包括支援センター", lines=tuple(center_lines(center))),
        )
        self._resume_paused(ctx)

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        center = _center(ctx, values)
        assert center is not None
        spec = services_data(ctx).care.consultation
        return [
            f"どなたの相談：{RELATIONS.get(values['relation'], values['relation'])}",
            f"相談の内容：{values['topic']}",
            f"相談先：{center.name}（{center.address}）",
            f"日時：{format_date(as_date(values['date']))} {values['time']}〜{_end(values['time'], spec.minutes)}",  # type: ignore[arg-type]
        ]

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        center = _center(ctx, values)
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
            await self.reopen(
                ctx,
                values,
                drop=("time",),
                message=f"申し訳ありません。{format_date(day)}の{values['time']}はたった今、予約が入りました。",
            )
            return
        self.done(
            ctx,
            title="介護の相談の予約",
            number=number,
            lines=self.summary_lines(ctx, values),
            notes=[
                f"当日は{center.name}へお越しください。",
                f"【変更・取消し】{services_data(ctx).care.change_note}（{center.phone}、{center.hours}）",
            ],
        )
