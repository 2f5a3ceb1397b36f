"""What the four reservation forms (粗大ごみ, 一時預かり, 施設予約, 介護の相談) share.

`BookingForm` is a `Form` that also knows what is already booked: before each turn it loads the
confirmed reservations of its kind within the booking window, so the (synchronous) validators
and button choices can leave out full dates and slots. That is only a preview; the real check is
`knowledge.bookings.create_reservation`, in the transaction that creates the reservation. When
that check finds the place gone, the form opens again without the date so the resident can pick
another one. For a linked resident the same transaction adds a `reservation` interaction to their
history (number, kind, department from the catalog). The name and phone number asked of an
anonymous resident are `handlers.contact`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import date, time, timedelta
from typing import Any, TypeVar

from bot.engine.events import Button, Card
from bot.engine.state import ActiveForm
from bot.engine.turn import TurnContext, payload
from handlers.contact import CONTACT_SLOT_NAMES, CONTACT_SLOTS, mask_phone
from handlers.form_texts import day_text, english, tr
from handlers.forms import Form
from knowledge.bookings import Capacity, FullyBooked, ReservationKind, create_reservation, taken_by_day
from knowledge.profile import department_of, interaction, resident_exists
from knowledge.residents import Interaction
from knowledge.services_data import BookingWindow, ServicesData, format_date
from nlu.facets import facet_question

log = logging.getLogger(__name__)
T = TypeVar("T")

Booked = list[tuple[str, date, str | None, str | None, int]]
_BOOKED: ContextVar[Booked | None] = ContextVar("booked", default=None)


def services_data(ctx: TurnContext) -> ServicesData:
    data = ctx.services.knowledge.services
    if not isinstance(data, ServicesData):
        raise RuntimeError("services data is not loaded (knowledge.loader.load_knowledge)")
    return data


def taken(resource: str, day: date, start: str | None = None, end: str | None = None) -> int:
    """Places already booked this turn's snapshot says are taken (by overlapping time if given)."""
    total = 0
    for res, booked_day, b_start, b_end, quantity in _BOOKED.get() or ():
        if res != resource or booked_day != day:
            continue
        if start and end and b_start and b_end and not (b_start < end and b_end > start):
            continue
        total += quantity
    return total


def as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def window_problem(ctx: TurnContext, day: date, window: BookingWindow, data: ServicesData) -> str | None:
    """Plain words for a date outside the booking window or on a closed day, else None."""
    first, last = window.window(ctx.today)
    said = {"day": day_text(ctx, day), "first": day_text(ctx, first), "last": day_text(ctx, last)}
    if day < ctx.today:
        return tr(ctx, "common.past", "{day}はすでに過ぎています。", **said)
    if day < first:
        return tr(
            ctx, "common.too_soon", "{day}は近すぎるため、お受けできません。{first}以降の日を選んでください。", **said
        )
    if day > last:
        return tr(ctx, "common.too_far", "{day}はまだ受付前です。{last}までの日を選んでください。", **said)
    if data.is_closed_date(day):
        return tr(ctx, "common.year_end", "{day}は年末年始のためお休みです。", **said)
    return None


def render_date(value: Any) -> str:
    day = as_date(value)
    return format_date(day) if day else str(value)


def date_buttons(ctx: TurnContext, days: list[date]) -> list[Button]:
    return [Button(day_text(ctx, d), payload("inform", date=d.isoformat())) for d in days]


def no_date(ctx: TurnContext) -> str:
    return tr(ctx, "common.no_date", "日付がわかりませんでした。")


def next_days(ctx: TurnContext, window: BookingWindow) -> Iterator[date]:
    first, last = window.window(ctx.today)
    day = max(first, ctx.today)
    while day <= last:
        yield day
        day += timedelta(days=1)


MORNING_CUES = ("午前", "朝", "未明", "深夜", "夜中", "AM", "am", "a.m.")


def daytime_time(value: Any, text: str, earliest: str) -> str | None:
    """A time said in a form whose offered times are all in the daytime (from `earliest`): a bare
    hour 1–7 without 午前 is the afternoon ("3時で" = 15:00 when 10:00, 13:30, 15:00 are offered).
    Other times come back as HH:MM unchanged; None when `value` is not a time."""
    if not isinstance(value, str):
        return None
    try:
        at = time.fromisoformat(value)
    except ValueError:
        return None
    hhmm = at.strftime("%H:%M")
    if 1 <= at.hour <= 7 and hhmm < earliest and not any(cue in text for cue in MORNING_CUES):
        return f"{at.hour + 12:02d}:{at.minute:02d}"
    return hhmm


def daytime_span(times: list[Any], text: str, earliest: str) -> list[str]:
    """`daytime_time` for a "from … to …" pair: "10時から3時" = 10:00–15:00 and "1時から5時" =
    13:00–17:00, but "6時から8時" stays 06:00–08:00 (then refused: before every opening)."""
    raw = [daytime_time(t, "午前", earliest) or str(t) for t in times]  # as said, HH:MM
    shifted = [daytime_time(t, text, earliest) or str(t) for t in times]
    if len(raw) != 2:
        return shifted
    start, end = raw
    if shifted[0] != start and shifted[1] != end:  # both bare afternoon hours
        return shifted
    if end < start and shifted[1] > start:  # "10時から3時"
        return [start, shifted[1]]
    return raw


def yen(amount: int) -> str:
    return f"{amount:,}円"


# A question about the booking rules, not a request to book ("会議室って何日前から予約できる？",
# "キャンセルの期限は？", "使用料はいくら？"): answered from the catalog, with a button to book.
RULES_QUESTION = re.compile(
    r"何日前|何日まえ|何か月前|何ヶ月前|何カ月前|何ヵ月前|いつから|いつまで|期限|締め?切|受付開始|キャンセル料"
    r"|必要なもの|持ち物|もちもの|登録(?:が|は)?(?:必要|いる|要る)|どうやって|方法|やり方"
)
FEE_QUESTION = re.compile(r"いくら|料金|使用料|利用料|値段|費用")
BOOKING_REQUEST_EN = re.compile(r"\b(?:book|reserve|reservation|booking|appointment)\b", re.I)


class BookingForm(Form):
    kind: ReservationKind
    window_days = 62  # how far ahead the availability snapshot reaches
    catch_all: frozenset[str] = frozenset()  # slots whose extractor reads any text (items, address)
    answers_fee_questions = False  # the form's own start answers fee questions (粗大ごみ: per item)

    def rules_question(self, ctx: TurnContext) -> bool:
        """A question about one facet (fee, documents, age, hours… `nlu.facets`) or about how booking
        works (RULES_QUESTION) rather than a request to book; never a button, nor a message that
        already gives a date or a time (unless it asks the hours: 「土曜日もやっていますか」)."""
        parse = ctx.parse
        if parse.from_payload:
            return False
        text = parse.text or ""
        facet = facet_question(text)  # 料金・持ち物・対象年齢・受付時間…: the answer first, then a button to book
        own_fee_answer = self.answers_fee_questions and facet == "fee"
        gives_when = bool(parse.entity("date") or parse.entity("time"))
        if gives_when and english(ctx) and BOOKING_REQUEST_EN.search(text):
            return False  # "Can I book the gym for next Saturday?": a request, politely asked
        if facet is not None and not own_fee_answer and (facet == "hours" or not gives_when):
            return True
        if parse.entity("date") or parse.entity("time"):
            return False
        return bool(RULES_QUESTION.search(text) or (not self.answers_fee_questions and FEE_QUESTION.search(text)))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every booking kind asks an anonymous resident for a name and a phone number, last."""
        super().__init_subclass__(**kwargs)
        if "slots" in cls.__dict__ and not any(s.name in CONTACT_SLOT_NAMES for s in cls.slots):
            cls.slots = (*cls.slots, *CONTACT_SLOTS)

    def confirmation_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        lines = self.summary_lines(ctx, values)
        if "contact_name" in values:
            lines.append(tr(ctx, "common.name", "お名前：{name}", name=values["contact_name"]))
        if "contact_phone" in values:
            lines.append(tr(ctx, "common.phone", "電話番号：{phone}", phone=mask_phone(values["contact_phone"])))
        return lines

    async def handle(self, ctx: TurnContext) -> None:
        if self.rules_question(ctx):
            book = Button(
                tr(ctx, "common.book_it", "{title}をする", title=self.title_in(ctx)), payload(self.kind, start="yes")
            )
            if english(ctx):  # the English card of the procedure, the facet asked first
                from handlers.english import answer_procedure_in_english

                answer_procedure_in_english(ctx, self.kind, extra_buttons=[book])
                return
            from handlers.procedures import catalog_of, say_procedure

            proc = catalog_of(ctx).procedure(self.kind)
            say_procedure(ctx, proc, extra_buttons=[book])
            return  # a form already in progress stays as it is
        with await self._snapshot(ctx):
            await super().handle(ctx)

    async def resume(self, ctx: TurnContext) -> None:
        with await self._snapshot(ctx):
            await super().resume(ctx)

    async def prompt(self, ctx: TurnContext) -> None:
        with await self._snapshot(ctx):
            await super().prompt(ctx)

    def takes_over(self, ctx: TurnContext) -> bool:
        """Also take a message that gives a valid answer to the question just asked, however sure
        the NLU is of another intent ("ひまわり保育園" reads as 保育園の入園 on its own)."""
        if super().takes_over(ctx):
            return True
        form = self._form(ctx)
        slot = next((s for s in self.slots if s.name == form.requested_slot), None)
        if slot is None or ctx.parse.from_payload:
            return False
        values = dict(form.slots)
        value = self._extract(ctx, slot, values)
        if value is None:
            return False
        if (
            slot.name not in self.catch_all | CONTACT_SLOT_NAMES
        ):  # a facility name, a date...: an answer even if refused
            return True
        return self._check(ctx, slot, value, values) is None

    async def _next(self, ctx: TurnContext, *, announce_errors: bool = True) -> None:
        self._revalidate(ctx)
        await super()._next(ctx, announce_errors=announce_errors)

    def _revalidate(self, ctx: TurnContext) -> None:
        """A value checked against an earlier answer (a time against the date) is checked again
        once that answer changed, or when the place went meanwhile; a failing one is asked again."""
        form = self._form(ctx)
        errors = form.slots.setdefault("_errors", {})
        for slot in self.slots:
            if slot.name in form.slots and slot.validate is not None:
                problem = self._check(ctx, slot, form.slots[slot.name], self.values(ctx))
                if problem:
                    form.slots.pop(slot.name)
                    errors[slot.name] = problem

    async def _snapshot(self, ctx: TurnContext):  # type: ignore[no-untyped-def]
        session = ctx.db
        booked = await taken_by_day(
            session, kind=self.kind, date_from=ctx.today, date_to=ctx.today + timedelta(days=self.window_days)
        )
        return _holding(booked)

    async def book(
        self,
        ctx: TurnContext,
        *,
        resource: str,
        day: date,
        capacity: Capacity,
        details: dict[str, Any],
        quantity: int = 1,
        start: str | None = None,
        end: str | None = None,
    ) -> str | None:
        """Create the reservation; its number, or None when the place was taken meanwhile."""
        session = ctx.db
        try:
            async with session.begin_nested():  # a full place undoes only this attempt
                reservation = await create_reservation(
                    session,
                    kind=self.kind,
                    conversation_id=ctx.state.conversation_id,
                    channel=ctx.state.channel,
                    resident_id=ctx.state.resident_id,
                    resource=resource,
                    service_date=day,
                    capacity=capacity,
                    quantity=quantity,
                    start_time=start,
                    end_time=end,
                    details=details,
                )
                number = reservation.number
                rid = ctx.state.resident_id
                if rid is not None and await resident_exists(session, rid):  # same transaction
                    session.add(self._history(ctx, rid, number))
        except FullyBooked:
            log.info("reservation refused: full", extra={"kind": self.kind})
            return None
        log.info("reservation created", extra={"kind": self.kind, "number": number})
        return number

    def _history(self, ctx: TurnContext, resident_id: str, number: str) -> Interaction:
        return interaction(
            resident_id=resident_id,
            kind="reservation",
            intent=self.kind,
            department=department_of(ctx.services.knowledge.catalog, self.kind),
            conversation_id=ctx.state.conversation_id,
            channel=ctx.state.channel,
            details={"number": number},
        )

    async def reopen(self, ctx: TurnContext, values: dict[str, Any], *, drop: tuple[str, ...], message: str) -> None:
        """The place went while the resident confirmed: say so and ask again for `drop`."""
        ctx.say(message)
        kept = {k: v for k, v in values.items() if k not in drop}
        ctx.state.active_form = ActiveForm(name=self.name, slots=kept)
        session = ctx.db
        booked = await taken_by_day(
            session, kind=self.kind, date_from=ctx.today, date_to=ctx.today + timedelta(days=self.window_days)
        )
        with _holding(booked):
            await self._next(ctx)

    def done(self, ctx: TurnContext, *, title: str, number: str, lines: list[str], notes: list[str]) -> None:
        ctx.say(
            tr(ctx, "common.done", "予約が完了しました。受付番号は {number} です。", number=number),
            card=Card(
                title=title, lines=(tr(ctx, "common.number", "受付番号：{number}", number=number), *lines), kind="info"
            ),
        )
        ctx.say("\n".join(notes))


@contextmanager
def holding(var: ContextVar[T], value: T) -> Iterator[None]:
    """`var` is `value` inside the block: what a form loaded (async) before its synchronous
    validators and button choices run."""
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def _holding(booked: Booked) -> AbstractContextManager[None]:
    return holding(_BOOKED, booked)
