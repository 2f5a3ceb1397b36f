"""What the resident is told when their conversation is handed to staff: the department, their
place in the queue and an expected wait in hours; out of hours, when staff return and an offer of
a callback. DV and other emergencies get the hotline numbers at once, whatever the hour (said by
handlers/handoff.py from the office-hours data)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.engine.events import Button
from bot.engine.state import ConversationState
from bot.engine.turn import TurnContext, payload
from bot.store.models import Handoff
from knowledge.office_hours import OfficeHours, department_for, describe

CALLBACK_BUTTON = Button("折り返し電話を依頼", payload("callback_request"))
VISIT_BUTTON = Button("窓口の予約をする", payload("counter_visit"))  # handlers/counter_visit.py
IN_HOURS = "担当は{dept}です。現在{position}番目にお待ちいただいています（待ち時間の目安：約{minutes}分）。"
LONG_WAIT = "お待たせしそうです。お電話での折り返しもご依頼いただけます。"
OUT_OF_HOURS = "ただいま{dept}の職員は対応時間外です（{label}）。{back}以降に順番にご対応します。"
NO_RETURN = "ただいま{dept}の職員は対応時間外です（{label}）。"
CALLBACK_OFFER = "お電話での折り返しをご希望の場合は「折り返し電話を依頼」を押してください。"
VISIT_OFFER = "窓口にお越しいただく日時の予約（窓口予約）もできます。"
PENDING_LONG = "お待たせしています。お電話での折り返しもご依頼いただけます。"
# the same for a conversation in English (CONTRACTS §9); department names stay as the catalog has them
EN = {
    "in_hours": "Your question is with {dept}. You are number {position} in the queue (about {minutes} minutes).",
    "long_wait": "It may take a while. You can also ask for a call back.",
    "out_of_hours": "Staff at {dept} are outside office hours now. They will answer from {back} (Japan time).",
    "no_return": "Staff at {dept} are outside office hours now.",
    "callback_offer": "To get a phone call back instead, press “Request a call back” (in Japanese).",
    "visit_offer": "You can also book a time to visit the counter.",
}


def _english(ctx: TurnContext) -> bool:
    return getattr(ctx.state, "language", "ja") == "en"


def _when_en(at: datetime) -> str:
    local = at.astimezone(ZoneInfo("Asia/Tokyo"))
    return local.strftime("%a %d %b, %H:%M")


def choose_department(ctx: TurnContext) -> str:
    """The department of the procedure being discussed (the form in progress, this message's
    intent, the last one), else the general department (総合案内)."""
    state = ctx.state
    names = [state.active_form.name if state.active_form else None, ctx.parse.intent, state.last_intent]
    names += [f.name for f in state.paused_forms]
    return department_for(ctx.services.knowledge.catalog, _hours(ctx), *names)


def _hours(ctx: TurnContext) -> OfficeHours | None:
    hours = ctx.services.knowledge.office_hours
    return hours if isinstance(hours, OfficeHours) else None


def department_name(ctx: TurnContext, department: str) -> str:
    catalog = ctx.services.knowledge.catalog
    found = catalog.data.departments.get(department) if catalog is not None else None
    return found.name if found is not None else "担当部署"


async def queue_position(ctx: TurnContext, department: str) -> int:
    """This conversation's place among the department's waiting conversations (1 = next)."""
    mine = select(func.min(Handoff.requested_at)).where(
        Handoff.conversation_id == ctx.event.conversation_id, Handoff.status == "pending"
    )
    since = await ctx.db.scalar(mine) or datetime.now(UTC)
    ahead = await ctx.db.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.department == department,
            Handoff.status == "pending",
            Handoff.requested_at < since,
            Handoff.conversation_id != ctx.event.conversation_id,
        )
    )
    return int(ahead or 0) + 1


async def announce(ctx: TurnContext, department: str, opening: str) -> None:
    """Say `opening` (「職員におつなぎします」), then the queue or the office hours."""
    hours, name = _hours(ctx), department_name(ctx, department)
    ctx.state.data["handoff_department"] = department
    now = ctx.services.now()
    sensitive = ctx.handoff_request == "sensitive"
    if hours is None or hours.is_open(department, now):
        position = await queue_position(ctx, department)
        minutes = position * (hours.queue.minutes_per_conversation if hours else 8)
        en = _english(ctx)
        text = (EN["in_hours"] if en else IN_HOURS).format(dept=name, position=position, minutes=minutes)
        long_wait = minutes > ctx.services.settings.staff_callback_after_minutes and not sensitive
        wait = EN["long_wait"] if en else LONG_WAIT
        visits = long_wait and _visits(hours, department)
        more = f"\n{wait}" + (f"\n{EN['visit_offer'] if en else VISIT_OFFER}" if visits else "") if long_wait else ""
        ctx.say(f"{opening}\n{text}{more}", buttons=_offer(long_wait, en, visits=visits))
        return
    back = hours.next_opening(department, now)
    label = hours.schedule_of(department).label
    offer = not sensitive  # a call to a DV victim's phone may be answered by the abuser: the hotlines instead
    visits = offer and _visits(hours, department)
    if _english(ctx):
        text = (EN["out_of_hours"] if back else EN["no_return"]).format(dept=name, back=_when_en(back) if back else "")
        more = (f"\n{EN['callback_offer']}" if offer else "") + (f"\n{EN['visit_offer']}" if visits else "")
    else:
        text = (OUT_OF_HOURS if back else NO_RETURN).format(dept=name, label=label, back=describe(back) if back else "")
        more = (f"\n{CALLBACK_OFFER}" if offer else "") + (f"\n{VISIT_OFFER}" if visits else "")
    ctx.say(f"{opening}\n{text}{more}", buttons=_offer(offer, _english(ctx), visits=visits))


def _visits(hours: OfficeHours | None, department: str) -> bool:
    """A 窓口予約 is offered too when the office-hours data has counter visits for the department."""
    return hours is not None and hours.takes_visits(department)


def visit_offered(ctx: TurnContext, department: str | None) -> bool:
    return _visits(_hours(ctx), department or "")


def _offer(callback: bool, english: bool = False, *, visits: bool = False) -> tuple[Button, ...]:
    if not callback:
        return ()
    if english:
        visit = (Button("Book a counter visit", payload("counter_visit")),) if visits else ()
        return (Button("Request a call back", payload("callback_request")), *visit, Button("Cancel", payload("cancel")))
    return (CALLBACK_BUTTON, *((VISIT_BUTTON,) if visits else ()), Button("やめる", payload("cancel")))


def waited_too_long(ctx: TurnContext, requested_at: Any) -> bool:
    """A queue wait past the limit (STAFF_CALLBACK_AFTER_MINUTES) turns into a callback offer."""
    if requested_at is None:
        return False
    at = requested_at if requested_at.tzinfo else requested_at.replace(tzinfo=UTC)
    return (ctx.services.now() - at).total_seconds() > ctx.services.settings.staff_callback_after_minutes * 60


async def pending_since(ctx: TurnContext, state: ConversationState) -> Any:
    return await ctx.db.scalar(
        select(func.min(Handoff.requested_at)).where(
            Handoff.conversation_id == state.conversation_id, Handoff.status == "pending"
        )
    )
