"""The booking forms in English (CONTRACTS §9): the same form definitions as in Japanese, their
words from forms_en.yml (handlers/form_texts.py); this module only decides, for an English turn,
what the router decides for a Japanese one:

* a booking request (一時預かり, 粗大ごみ, 施設予約, 介護の相談) starts the form, unless it is a
  question about the procedure ("How much is temporary childcare?": the facet answered first, with
  a button to book);
* while such a form waits, a message the form takes a value from (or a yes, a no, a correction)
  goes to the form; a question about a fee or the hours is answered and the form's question asked
  again; another request is answered and then the form picks up again; "cancel" and a request for
  a person are the English layer's as always.
"""

from __future__ import annotations

import re
from typing import Any

from bot.engine.turn import TurnContext
from handlers.forms import Form
from nlu.facets import facet_question

FORM_CLASSES = {
    "childcare_temporary": ("handlers.childcare", "ChildcareForm"),
    "bulky_waste": ("handlers.bulky_waste", "BulkyWasteForm"),
    "facility_booking": ("handlers.facilities", "FacilityBookingForm"),
    "care_consultation": ("handlers.care", "CareConsultationForm"),
    "reservation_manage": ("handlers.reservation_manage", "ReservationManageForm"),
}
PASSED_ON = frozenset({"cancel", "request_human", "dv_abuse"})  # the English layer's own, form or not
BOOKING_WORDS = re.compile(
    r"\b(?:book|booking|reserve|reservation|appointment|apply|application|pick ?up|collect|collection|"
    r"schedule|arrange|sign up|register|want to use|use the|leave my|look after|take care of)\b",
    re.I,
)
_FORMS: dict[str, Form] = {}


def form_named(name: str) -> Form | None:
    """The booking form `name` (one instance per process: forms keep no state of their own)."""
    if name not in FORM_CLASSES:
        return None
    if name not in _FORMS:
        import importlib

        module, cls = FORM_CLASSES[name]
        _FORMS[name] = getattr(importlib.import_module(module), cls)()
    return _FORMS[name]


def active_english_form(ctx: TurnContext) -> Form | None:
    active = ctx.state.active_form
    return form_named(active.name) if active is not None else None


async def start_form(ctx: TurnContext, intent: str) -> bool:
    """Start (or answer a question about) the booking form of `intent`; False: not a booking form."""
    form = form_named(intent)
    if form is None:
        return False
    ctx.handled_by = f"en:{form.name}"
    await form.handle(ctx)
    return True


async def form_turn(ctx: TurnContext, form: Form, answer_other: Any) -> None:
    """One English message while `form` waits (see the module's doc). `answer_other` answers a
    message that is not the form's (the English layer's dispatch), after which the form resumes."""
    parse = ctx.parse
    if parse.intent in PASSED_ON:
        await answer_other(ctx)
        return
    facet = None if parse.from_payload else facet_question(parse.text)
    if facet is not None and not form._would_fill(ctx):
        from handlers.english import answer_procedure_in_english

        asked = parse.intent if parse.confidence >= 0.75 and parse.intent in FORM_CLASSES else form.name
        ctx.handled_by = "en:facet_question"
        if facet == "fee" and asked == form.name and getattr(form, "answers_fee_questions", False):
            await form.start(ctx)  # 粗大ごみ: the fee of the items named, from the list (nothing starts)
        else:
            answer_procedure_in_english(ctx, asked, short=True)
        await form.prompt(ctx)
        return
    if _is_the_forms(ctx, form):
        ctx.handled_by = f"en:{form.name}"
        await form.resume(ctx)
        return
    await answer_other(ctx)
    still = ctx.state.active_form
    if still is not None and still.name == form.name and ctx.handoff_request is None:
        await form.prompt(ctx)


def _is_the_forms(ctx: TurnContext, form: Form) -> bool:
    parse = ctx.parse
    if parse.from_payload:
        return parse.intent.startswith("form_") or parse.intent in ("inform", "affirm", "deny", *form.intents)
    return form.takes_over(ctx)
