"""Multi-turn forms: ask for what a procedure needs, confirm, then complete it.

A `Form` lists its `Slot`s. Values come from the first message already ("来週火曜に2歳の子を
預けたい" fills date and age at once), from answers, and from buttons. Every value is validated
and a failure is said plainly before asking again. Before anything is created the resident sees
a summary and confirms; corrections ("やっぱり2通で", "日付を変えたい") and `cancel` work at
any point, and an unrelated question in the middle is answered before the form resumes (the
router does that through `takes_over` / `prompt`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engine.events import Button, Card
from bot.engine.state import ActiveForm
from bot.engine.turn import TurnContext, payload
from handlers.form_texts import en_list, english, tr

Extractor = Callable[[TurnContext, dict[str, Any]], Any | None]
Validator = Callable[[TurnContext, Any, dict[str, Any]], str | None]  # error text or None
Choices = Callable[[TurnContext, dict[str, Any]], Sequence[Button]]

FORM_INTENTS = frozenset({"affirm", "deny", "inform", "change", "nlu_fallback", "out_of_scope"})
CORRECTION_WORDS = (
    "やっぱり",
    "やはり",
    "変更",
    "変えたい",
    "変えて",
    "訂正",
    "間違",
    "ちがう",
    "違う",
    "ではなく",
    "じゃなくて",
    # English (the same forms run in English, CONTRACTS §9)
    "actually",
    "change",
    "instead",
    "wrong",
    "rather",
)
STRONG_OTHER_INTENT = 0.75  # another procedure this sure is an interruption, not an answer
UNREADABLE = "いただいた内容を読み取れませんでした。"  # a value no extractor or validator could use
# What a malformed value (a button payload with a list, a dict, "abc" for a number) makes an
# extractor or validator raise: read as "no usable value", never as a system error.
BAD_VALUE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    name: str
    question: str
    label: str  # shown in the confirmation summary and the "what to change" buttons
    entity: str | None = None  # NLU entity that fills it
    extract: Extractor | None = None  # custom extraction from the message (before `entity`)
    validate: Validator | None = None
    choices: Choices | None = None  # buttons offered with the question
    aliases: tuple[str, ...] = ()  # words that name this slot in a correction ("日付", "日にち")
    free_text: bool = False  # `extract` takes any answer: use it only when this slot was asked
    render: Callable[[Any], str] = str
    required: Callable[[dict[str, Any]], bool] = field(default=lambda _slots: True)
    when: Callable[[TurnContext], bool] | None = None  # asked only in such conversations (no linked resident)


def as_int(value: Any) -> int | None:
    """A whole number from an entity or payload value (3, "3", "３"); None for anything else
    ("abc", [], {}, True, 2.5), so an extractor never has to trust a button's value type."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    return None


class Form:
    """Base class for a form handler; subclasses set the class attributes and `submit`."""

    name: str = ""
    intents: frozenset[str] = frozenset()
    title: str = ""
    slots: tuple[Slot, ...] = ()

    # -- hooks for subclasses ------------------------------------------------------------
    async def start(self, ctx: TurnContext) -> bool:
        """Say an introduction; return False to not start the form (e.g. only information asked)."""
        return True

    async def submit(self, ctx: TurnContext, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def summary_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        return [f"{s.label}：{s.render(values[s.name])}" for s in self.slots if s.name in values]

    def confirmation_lines(self, ctx: TurnContext, values: dict[str, Any]) -> list[str]:
        """What the confirmation card shows: the summary (a booking adds the masked contact)."""
        return self.summary_lines(ctx, values)

    # -- FormHandler protocol -----------------------------------------------------------
    async def handle(self, ctx: TurnContext) -> None:
        if not await self.start(ctx):
            return  # only information given: the active form (if any) stays as it is
        if ctx.state.active_form is not None and ctx.state.active_form.name != self.name:
            ctx.state.paused_forms = [ctx.state.active_form]
        ctx.state.active_form = ActiveForm(name=self.name)
        self._fill_from_message(ctx, only_entities=True)
        await self._next(ctx)

    def takes_over(self, ctx: TurnContext) -> bool:
        parse = ctx.parse
        if parse.intent in FORM_INTENTS or parse.intent in self.intents:
            return True
        if parse.from_payload:
            return parse.intent.startswith("form_")
        strongly_other = parse.confidence >= STRONG_OTHER_INTENT
        # "やっぱり…", "日付を変更": a correction of this form — unless the NLU is sure of another
        # intent and no item of this form is named ("一時預かりの予約を変更したい" in the 粗大ごみ form)
        if any(word in parse.text.lower() for word in CORRECTION_WORDS) and (
            not strongly_other or self._slot_named_in(parse.text, ctx) is not None
        ):
            return True
        if strongly_other:
            return False
        return self._would_fill(ctx)

    async def resume(self, ctx: TurnContext) -> None:
        form = self._form(ctx)
        parse = ctx.parse
        if parse.intent == "form_change":
            self._clear_slot(ctx, str(parse.entity("slot") or ""))
            await self._next(ctx)
            return
        if form.awaiting_confirmation:
            await self._on_confirmation(ctx)
            return
        self._fill_from_message(ctx, only_entities=False)
        await self._next(ctx)

    async def prompt(self, ctx: TurnContext) -> None:
        ctx.say(tr(ctx, "common.resume", "では、{title}の続きです。", title=self.title_in(ctx)))
        await self._next(ctx, announce_errors=False)

    # -- words in the conversation's language (handlers/form_texts.py) ------------------------
    def title_in(self, ctx: TurnContext) -> str:
        return tr(ctx, f"{self.name}.title", self.title)

    def text(self, ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
        """This form's text `key` (forms_en.yml `<form>.texts.<key>`), `ja` in Japanese."""
        return tr(ctx, f"{self.name}.texts.{key}", ja, **values)

    def slot_text(self, ctx: TurnContext, slot: Slot, field: str) -> str:
        """A slot's question or label: the form's own, else the shared contact slots'."""
        ja = slot.question if field == "question" else slot.label
        for section in (self.name, "contact"):
            said = tr(ctx, f"{section}.slots.{slot.name}.{field}", "")
            if said:
                return said
        return ja

    # -- internals ------------------------------------------------------------------------
    def _form(self, ctx: TurnContext) -> ActiveForm:
        assert ctx.state.active_form is not None and ctx.state.active_form.name == self.name
        return ctx.state.active_form

    def _would_fill(self, ctx: TurnContext) -> bool:
        form = self._form(ctx)
        for slot in self.slots:
            if slot.name == form.requested_slot and self._extract(ctx, slot, dict(form.slots)) is not None:
                return True
        return False

    def _extract(self, ctx: TurnContext, slot: Slot, values: dict[str, Any]) -> Any | None:
        """The slot's value in this message, or None; a value the extractor cannot read is None."""
        try:
            if slot.extract is not None:
                value = slot.extract(ctx, values)
                if value is not None:
                    return value
            if slot.entity is not None:
                value = ctx.parse.entity(slot.entity)
                return None if isinstance(value, (list, dict)) else value
        except BAD_VALUE_ERRORS as exc:
            # The value itself is never logged (it may be personal data).
            log.info("slot value unreadable", extra={"form": self.name, "slot": slot.name, "error": type(exc).__name__})
        return None

    def _check(self, ctx: TurnContext, slot: Slot, value: Any, values: dict[str, Any]) -> str | None:
        """The slot's validation message for `value` (None when fine); a value the validator
        cannot even compare (a string for a number) fails plainly instead of raising."""
        if slot.validate is None:
            return None
        try:
            return slot.validate(ctx, value, values)
        except BAD_VALUE_ERRORS as exc:
            log.info("slot value invalid", extra={"form": self.name, "slot": slot.name, "error": type(exc).__name__})
            return tr(ctx, "common.unreadable", UNREADABLE)

    def _fill_from_message(self, ctx: TurnContext, *, only_entities: bool) -> None:
        """Fill every slot the message gives a value for; the requested one may use free text."""
        form = self._form(ctx)
        errors = form.slots.setdefault("_errors", {})
        for slot in self.slots:
            is_requested = slot.name == form.requested_slot
            if slot.free_text and (only_entities or not is_requested):
                continue
            value = self._extract(ctx, slot, form.slots)
            if value is None:
                continue
            problem = self._check(ctx, slot, value, form.slots)
            if problem:
                errors[slot.name] = problem
                form.slots.pop(slot.name, None)
            else:
                errors.pop(slot.name, None)
                form.slots[slot.name] = value

    async def _next(self, ctx: TurnContext, *, announce_errors: bool = True) -> None:
        form = self._form(ctx)
        errors: dict[str, str] = form.slots.get("_errors", {})
        values = self.values(ctx)
        # A refused value is said at once, even for a slot asked later (a "-1通" button pressed
        # while the requester is asked), so nothing refused looks stored.
        for slot in self.slots:
            problem = errors.pop(slot.name, None)
            if problem and announce_errors and slot.name not in values and self._needed(ctx, slot, values):
                ctx.say(problem)
        for slot in self.slots:
            if slot.name in values or not self._needed(ctx, slot, values):
                continue
            form.requested_slot = slot.name
            form.awaiting_confirmation = False
            buttons = list(slot.choices(ctx, values)) if slot.choices else []
            ctx.say(self.slot_text(ctx, slot, "question"), buttons=buttons + [self._cancel_button(ctx)])
            return
        form.requested_slot = None
        form.awaiting_confirmation = True
        ctx.say(
            tr(ctx, "common.confirm", "この内容でよろしいですか。"),
            card=Card(title=self.title_in(ctx), lines=tuple(self.confirmation_lines(ctx, values)), kind="confirmation"),
            buttons=(
                Button(tr(ctx, "common.affirm", "はい"), payload("affirm")),
                Button(tr(ctx, "common.change", "変更する"), payload("deny")),
                self._cancel_button(ctx),
            ),
        )

    @staticmethod
    def _cancel_button(ctx: TurnContext) -> Button:
        return Button(tr(ctx, "common.cancel", "やめる"), payload("cancel"))

    async def _on_confirmation(self, ctx: TurnContext) -> None:
        before = dict(self._form(ctx).slots)
        self._fill_from_message(ctx, only_entities=True)
        changed = self._form(ctx).slots != before  # "3通でお願いします" reads as affirm but corrects
        if ctx.parse.intent == "affirm" and not changed:
            values = self.values(ctx)
            ctx.state.active_form = None
            await self.submit(ctx, values)
            self._resume_paused(ctx)
            return
        named = self._slot_named_in(ctx.parse.text, ctx)
        if changed:  # a correction with its new value: confirm again
            await self._next(ctx)
        elif named is not None:
            self._clear_slot(ctx, named.name)
            await self._next(ctx)
        else:
            filled = self.values(ctx)
            buttons = [
                Button(self.slot_text(ctx, s, "label"), payload("form_change", slot=s.name))
                for s in self.slots
                if s.name in filled
            ]
            ctx.say(
                tr(ctx, "common.which_change", "どの項目を変更しますか。"), buttons=[*buttons, self._cancel_button(ctx)]
            )

    @staticmethod
    def _needed(ctx: TurnContext, slot: Slot, values: dict[str, Any]) -> bool:
        return slot.required(values) and (slot.when is None or slot.when(ctx))

    def _slot_named_in(self, text: str, ctx: TurnContext | None = None) -> Slot | None:
        if ctx is not None and english(ctx):
            low = text.lower()
            for slot in self.slots:
                words = [self.slot_text(ctx, slot, "label").lower()]
                for section in (self.name, "contact"):
                    words += [w.lower() for w in en_list(ctx, f"{section}.slots.{slot.name}.aliases")]
                if any(re.search(rf"\b{re.escape(w)}\b", low) for w in words if w):
                    return slot
            return None
        for slot in self.slots:
            if any(alias in text for alias in (slot.label, *slot.aliases)):
                return slot
        return None

    def _clear_slot(self, ctx: TurnContext, name: str) -> None:
        form = self._form(ctx)
        form.slots.pop(name, None)
        form.awaiting_confirmation = False

    def _resume_paused(self, ctx: TurnContext) -> None:
        if ctx.state.paused_forms and ctx.state.active_form is None:
            ctx.state.active_form = ctx.state.paused_forms.pop()
            ctx.say(tr(ctx, "common.back_to_paused", "先ほどの手続きの続きに戻ります。"))

    def values(self, ctx: TurnContext) -> dict[str, Any]:
        return {k: v for k, v in self._form(ctx).slots.items() if not k.startswith("_")}
