"""予約の確認・取消し in the chat (intent `reservation_manage`).

A resident who booked in the chat (粗大ごみ, 一時預かり, 施設, 介護の相談) can see their upcoming
reservations and cancel one, up to the deadline the municipality's data gives per kind
(`cancel_in_chat` in services.yml; a kind without it is cancelled by phone only, as its
`change_note` says). A change of date or time is a cancellation followed by a new booking: the
bot says so and offers the booking again once the old one is cancelled.

Whose reservation may be cancelled here: one made in this conversation, or one of the linked
resident. Any other number (a booking made on another phone, read out from a paper note) needs the
phone number given when booking, checked against the reservation's contact; three wrong answers
end the attempt. Before each turn the form loads what it may need (the conversation's and the
resident's upcoming reservations, and any reservation whose number is in the message) so that
its validators can stay synchronous (`handlers.reservation_lookup`); the cancellation itself re-reads the row in its own
transaction.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from typing import Any

from bot.engine.events import Button, Card
from bot.engine.turn import TurnContext, payload
from handlers.contact import format_phone, mask_phone, phone_digits, valid_phone
from handlers.form_texts import english, tr
from handlers.forms import Form, Slot
from handlers.reservation_lookup import (
    KIND_TITLES,
    Known,
    cancel_problem,
    contact_phone,
    describe,
    holding_known,
    kind_title,
    known_or_none,
    known_this_turn,
    load_known,
    note_for,
    short_label,
)
from knowledge.bookings import (
    cancel_reservation,
    find_number,
    get_reservation,
)
from knowledge.profile import record_cancellation

log = logging.getLogger(__name__)

BOOKING_FORMS = frozenset(KIND_TITLES)  # the booking forms are named after their kind
MAX_LISTED = 5
MAX_PHONE_TRIES = 3
CHECK_CUES = (
    "確認",
    "見たい",
    "みたい",
    "見せて",
    "どうなって",
    "一覧",
    "入ってる",
    "入っている",
    "いつだった",
    "何日だった",
)
CANCEL_CUES = ("取り消", "取消", "とりけ", "キャンセル", "やめ", "止め", "中止", "行けなく", "いけなく", "不要")
CHANGE_CUES = ("変更", "変え", "かえ", "ずらし", "別の日", "振替", "振り替")
# The same in English (CONTRACTS §9: the form runs in English, its words in forms_en.yml)
CHECK_EN = re.compile(r"\b(?:check|see|show|list|what are|when is|confirm)\b", re.I)
CANCEL_EN = re.compile(r"\b(?:cancel|can't come|cannot come|won't come|not coming|don't need)\b", re.I)
CHANGE_EN = re.compile(r"\b(?:change|move|reschedule|another day|different day)\b", re.I)


def _says(text: str, cues: tuple[str, ...], english_cues: re.Pattern[str]) -> bool:
    return any(cue in text for cue in cues) or bool(english_cues.search(text))


def _t(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    return tr(ctx, f"reservation_manage.texts.{key}", ja, **values)


# -- slots ----------------------------------------------------------------------------------
def _extract_number(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    if ctx.parse.from_payload:
        given = ctx.parse.entity("number")
        return find_number(given) if isinstance(given, str) else None
    return find_number(ctx.parse.text or "")


def _validate_number(ctx: TurnContext, value: Any, _values: dict[str, Any]) -> str | None:
    known = known_this_turn()
    reservation = known.by_number.get(str(value))
    if reservation is None:
        ja = "受付番号 {number} の予約が見つかりません。番号をお確かめください。（例：S-20261201-0001）"
        return _t(ctx, "not_found", ja, number=value)
    problem = cancel_problem(ctx, reservation, known.now)
    if problem:
        return problem
    if not known.owned(reservation) and not contact_phone(reservation):
        ja = "この予約は別の方法で受け付けたため、このチャットからは取り消せません。{note}"
        return _t(ctx, "other_way", ja, note=note_for(ctx, reservation.kind))
    return None


def _needs_phone(values: dict[str, Any]) -> bool:
    known = known_or_none()
    number = values.get("number")
    if known is None or not isinstance(number, str):
        return False
    reservation = known.by_number.get(number)
    return reservation is not None and not known.owned(reservation)


def _number_buttons(ctx: TurnContext, _values: dict[str, Any]) -> list[Button]:
    return [Button(short_label(r, ctx), payload("inform", number=r.number)) for r in known_this_turn().own[:MAX_LISTED]]


def _extract_phone(ctx: TurnContext, _values: dict[str, Any]) -> str | None:
    form = ctx.state.active_form
    if form is None or form.requested_slot != "phone":
        return None
    text = unicodedata.normalize("NFKC", ctx.parse.text or "")
    digits = phone_digits(text)
    return format_phone(text) if valid_phone(digits) else (text.strip() or None)


def _validate_phone(ctx: TurnContext, value: Any, values: dict[str, Any]) -> str | None:
    if not isinstance(value, str) or not valid_phone(value):
        ja = "電話番号の形になっていないようです。予約のときにお知らせいただいた番号を、市外局番から教えてください。"
        return _t(ctx, "phone_bad", ja)
    reservation = known_this_turn().by_number.get(str(values.get("number")))
    if reservation is None or phone_digits(value) != contact_phone(reservation):
        form = ctx.state.active_form
        tries = int(form.slots.get("_phone_tries", 0)) + 1 if form is not None else MAX_PHONE_TRIES
        if form is not None:
            form.slots["_phone_tries"] = tries
        return _t(ctx, "phone_wrong", "予約のときの電話番号と一致しません。")
    return None


class ReservationManageForm(Form):
    name = "reservation_manage"
    intents = frozenset({"reservation_manage"})
    title = "予約の取消し"
    slots = (
        Slot(
            "number",
            "取り消す予約の受付番号を教えてください。（例：S-20261201-0001）",
            "受付番号",
            extract=_extract_number,
            validate=_validate_number,
            choices=_number_buttons,
            aliases=("受付番号", "番号"),
        ),
        Slot(
            "phone",
            "ご本人の確認のため、予約のときにお知らせいただいた電話番号を教えてください。",
            "電話番号",
            extract=_extract_phone,
            validate=_validate_phone,
            render=mask_phone,
            free_text=True,
            required=_needs_phone,
        ),
    )

    # every turn of the form sees the reservations it may need
    async def _with_known(self, ctx: TurnContext) -> Known:
        form = ctx.state.active_form
        kept = form.slots.get("number") if form is not None and form.name == self.name else None
        return await load_known(ctx, (kept,) if isinstance(kept, str) else ())

    async def handle(self, ctx: TurnContext) -> None:
        booking = self._new_booking_meant(ctx)
        if booking is not None:
            await booking.handle(ctx)
            return
        with holding_known(await self._with_known(ctx)):
            await super().handle(ctx)

    @staticmethod
    def _new_booking_meant(ctx: TurnContext) -> Form | None:
        """ "一時預かりの予約をする": no number and no word of checking, cancelling or changing —
        a new booking. The booking form the NLU ranks highest takes it (None: none is ranked)."""
        parse = ctx.parse
        text = parse.text or ""
        cues = (*CHECK_CUES, *CANCEL_CUES, *CHANGE_CUES)
        said = any(pattern.search(text) for pattern in (CHECK_EN, CANCEL_EN, CHANGE_EN))
        if parse.from_payload or find_number(text) or any(cue in text for cue in cues) or said:
            return None
        kind = next((r.get("name") for r in parse.ranking if r.get("name") in KIND_TITLES), None)
        if kind is None:
            return None
        from handlers.bulky_waste import BulkyWasteForm
        from handlers.care import CareConsultationForm
        from handlers.childcare import ChildcareForm
        from handlers.facilities import FacilityBookingForm

        forms: dict[str, type[Form]] = {
            "bulky_waste": BulkyWasteForm,
            "childcare_temporary": ChildcareForm,
            "facility_booking": FacilityBookingForm,
            "care_consultation": CareConsultationForm,
        }
        if str(kind) not in forms:
            return None
        parse.intent = str(kind)
        ctx.handled_by = str(kind)
        return forms[str(kind)]()

    async def resume(self, ctx: TurnContext) -> None:
        with holding_known(await self._with_known(ctx)):
            await super().resume(ctx)
            self._stop_after_failed_checks(ctx)

    async def prompt(self, ctx: TurnContext) -> None:
        with holding_known(await self._with_known(ctx)):
            await super().prompt(ctx)

    def takes_over(self, ctx: TurnContext) -> bool:
        if find_number(ctx.parse.text or ""):
            return True
        form = ctx.state.active_form
        if form is not None and form.requested_slot == "phone" and not ctx.parse.from_payload:
            return valid_phone(phone_digits(unicodedata.normalize("NFKC", ctx.parse.text or "")))
        return super().takes_over(ctx)

    def _stop_after_failed_checks(self, ctx: TurnContext) -> None:
        form = ctx.state.active_form
        if form is None or form.name != self.name or int(form.slots.get("_phone_tries", 0)) < MAX_PHONE_TRIES:
            return
        reservation = known_this_turn().by_number.get(str(form.slots.get("number")))
        note = note_for(ctx, reservation.kind) if reservation else ""
        ctx.state.active_form = None
        log.info("reservation cancel refused: phone check failed", extra={"form": self.name})
        ctx.replies.clear()
        ctx.say(
            _t(
                ctx,
                "failed_checks",
                "ご本人の確認ができなかったため、チャットでの取消しはできません。{note}",
                note=note,
            ).rstrip()
        )
        self._resume_paused(ctx)

    async def start(self, ctx: TurnContext) -> bool:
        text = ctx.parse.text or ""
        known = known_this_turn()
        number = find_number(text)
        wants_change = _says(text, CHANGE_CUES, CHANGE_EN)
        wants_cancel = _says(text, CANCEL_CUES, CANCEL_EN)
        action = ctx.parse.entity("action") if ctx.parse.from_payload else None
        asks_list = not number and not wants_cancel and not wants_change and _says(text, CHECK_CUES, CHECK_EN)
        if action == "check" or asks_list:
            self._list(ctx, known)
            return False
        active = ctx.state.active_form
        if active is not None and active.name in BOOKING_FORMS and not number and not known.own and not wants_change:
            # "予約をやめたい" while booking: the booking being entered is what the resident means
            ctx.state.active_form = None
            ctx.say(_t(ctx, "stopped", "入力中の{kind}の予約をやめました。", kind=kind_title(ctx, active.name)))
            self._resume_paused(ctx)
            return False
        if not number and not known.own:
            ja = "このチャットで受け付けた、これからの予約は見つかりませんでした。別の端末などで予約した場合は、受付番号を教えてください。"
            ctx.say(_t(ctx, "none_found", ja))
        elif wants_change:
            ja = (
                "このチャットでは、いまの予約を取り消してから、あらためて予約していただく形で日時などを変更できます。"
                "まず、取り消す予約を選んでください。"
            )
            ctx.say(_t(ctx, "change", ja))
        else:
            ctx.say(_t(ctx, "start", "予約の取消しをお手伝いします。"))
        if known.own and not number:
            ctx.say(_t(ctx, "upcoming", "これからの予約です。"), card=self._card(ctx, known))
        return True

    @staticmethod
    def _card(ctx: TurnContext, known: Known) -> Card:
        sep = ": " if english(ctx) else "："
        lines = tuple(f"{r.number}{sep}{describe(r, ctx)}" for r in known.own[:MAX_LISTED])
        return Card(title=_t(ctx, "list_title", "予約の一覧"), lines=lines, kind="info")

    def _list(self, ctx: TurnContext, known: Known) -> None:
        if not known.own:
            ja = "このチャットで受け付けた、これからの予約はありません。予約の内容は、受付番号をお知らせのうえ各窓口へお問い合わせください。"
            ctx.say(_t(ctx, "none_listed", ja))
            return
        more = _t(ctx, "more", "（最初の{n}件を表示しています）", n=MAX_LISTED) if len(known.own) > MAX_LISTED else ""
        ctx.say(
            _t(ctx, "count", "これからの予約は{n}件です。{more}", n=len(known.own), more=more).rstrip(),
            card=self._card(ctx, known),
            buttons=(
                Button(_t(ctx, "cancel_button", "予約を取り消す"), payload("reservation_manage", action="cancel")),
            ),
        )

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        reservation = known_this_turn().by_number.get(str(values.get("number")))
        lines = [_t(ctx, "line_number", "受付番号：{number}", number=values.get("number"))]
        if reservation is not None:
            lines.append(_t(ctx, "line_what", "内容：{what}", what=describe(reservation, ctx)))
        if "phone" in values:
            lines.append(_t(ctx, "line_phone", "確認した電話番号：{phone}", phone=mask_phone(values["phone"])))
        return lines

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        number = str(values["number"])
        session = ctx.db
        current = await get_reservation(session, number=number)
        problem = None if current is None else cancel_problem(ctx, current, ctx.services.now().replace(tzinfo=None))
        if current is None or problem:
            ctx.say(problem or _t(ctx, "gone", "受付番号 {number} の予約が見つかりません。", number=number))
            return
        kind = current.kind
        label = describe(current, ctx)
        await cancel_reservation(session, number=number)
        rid = ctx.state.resident_id
        owner = current.resident_id
        await record_cancellation(
            session,
            catalog=ctx.services.knowledge.catalog,
            kind=kind,
            number=number,
            residents={r for r in (rid, owner) if r},
            conversation_id=ctx.state.conversation_id,
            channel=ctx.state.channel,
        )
        log.info("reservation cancelled in chat", extra={"kind": kind, "number": number})
        # a 窓口予約 is booked again with the same department (its resource)
        again = payload(kind, dept=current.resource) if kind == "counter_visit" else payload(kind)
        lines = (
            _t(ctx, "line_number", "受付番号：{number}", number=number),
            _t(ctx, "line_what", "内容：{what}", what=label),
            _t(ctx, "done_status", "状態：取消し済み"),
        )
        ctx.say(
            _t(ctx, "done", "受付番号 {number} の予約を取り消しました。", number=number),
            card=Card(title=self.title_in(ctx), lines=lines, kind="info"),
            buttons=(Button(_t(ctx, "again", "{kind}をあらためて予約する", kind=kind_title(ctx, kind)), again),),
        )
