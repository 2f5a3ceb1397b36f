"""Router: active procedure first, then FAQ-first, then intent -> handler, then fallback.

Some intents win over everything (cancel, asking for a person, DV or abuse). While a form is
active, the form takes the message unless it is clearly about something else; then that other
question is answered and the form asks again for what it still needs.

The municipality's FAQ knows questions no intent models (駐車場, ハチの巣, 開庁時間). The NLU
still names an intent for them (often `greet`, `out_of_scope` or a procedure with a modest
score), so before the intent's handler runs, `faq_answer` decides whether the FAQ answers
instead; the rule and its thresholds are below, in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bot.turn import TurnContext
from handlers.base import FormHandler, Handler
from handlers.fallback import say_faq_answer

if TYPE_CHECKING:
    from knowledge.faq import FaqHit

log = logging.getLogger(__name__)

ALWAYS_FIRST = ("dv_abuse", "request_human", "cancel")
# While a form waits for an answer, a bare value ("中央2-5", "3人") can look like `cancel` or
# `request_human` to the classifier. Those two only win over the form when the words say so.
CUES = {
    "cancel": (
        "やめ",
        "止め",
        "キャンセル",
        "中止",
        "取り消",
        "取消",
        "いらない",
        "要らない",
        "結構",
        "最初から",
        "やり直",
        "もういい",
    ),
    "request_human": (
        "職員",
        "人と",
        "担当",
        "オペレーター",
        "有人",
        "電話で",
        "係の",
        "スタッフ",
        "人間",
        "つないで",
        "繋いで",
    ),
}


# -- FAQ first ------------------------------------------------------------------------------
# The FAQ answers instead of the intent's handler when its top hit clears the bar for that kind
# of intent. The bars use the FAQ's own confidence (0..1, `FaqIndex.confidence`):
#   * `nlu_fallback` (the NLU found nothing): the FAQ's own bar (`FaqHit.confident`); the FAQ is
#     the only other place that may know the answer.
#   * `out_of_scope`: the NLU judged the message outside the municipality, but the FAQ is the
#     municipality's own word on what it handles; it answers when it clears FAQ_OVER_INTENT,
#     whatever the NLU's confidence ("駐車場ある？" is `out_of_scope` 0.81, the FAQ knows it).
#   * every other intent has an answer of its own (a greeting, a yes/no, a procedure, a profile
#     command, a bare value for a question the bot asked): the FAQ takes over only when the NLU
#     is unsure (< INTENT_SURE) AND the FAQ clears FAQ_OVER_INTENT ("区役所に駐車場はありますか？"
#     reads as `greet` 0.57 and is an FAQ question word for word).
# The FAQ's bar is stricter when it overrides the NLU because its confidence also counts words of
# the answers and runs high on one- or two-word messages: a sure "はい、それでお願いします"
# (affirm 1.0) scores 0.78 on an entry whose answer says "お願い", "北区民館" (inform) 0.9 on the
# 会議室 entry. Never: buttons, the commands that always win (cancel, a person, DV), or while the
# bot's own yes/no or code question is open (`pending_question`: its answer has an owner).
FAQ_FIRST_INTENTS = frozenset({"nlu_fallback"})
FAQ_OVER_NLU_INTENTS = frozenset({"out_of_scope"})
INTENT_SURE = 0.75  # NLU confidence from which an intent keeps its handler (= forms' STRONG_OTHER_INTENT)
# FAQ confidence needed to answer instead of what the NLU chose. Near-verbatim FAQ questions score
# 0.88-0.9; a request that only shares words with an entry scores lower and keeps its handler
# ("中央区民館の会議室Aを予約したい" is `facility_booking` 0.62 and 0.81 on the 会議室 entry: a booking).
FAQ_OVER_INTENT = 0.85
# The surer the NLU is that a message is outside the municipality, the closer the FAQ must match:
# "今何時？" (out_of_scope 1.0) shares only 何時 with the opening-hours entry (0.85), while
# "犬を飼い始めたんだけど登録いる？" (0.94) and "駐車場ある？" (0.82) are the FAQ's questions (0.9).
OUT_OF_SCOPE_SURE = 0.97
FAQ_OVER_SURE_OUT_OF_SCOPE = 0.88
# While a form waits for an answer it also claims messages the NLU could not place, since a free
# answer ("山田です", "桜台2-3-4") often looks like that. Such a message that the form would take
# no value from, and that the FAQ answers or the NLU calls out of scope, is an unrelated question:
# it is answered, then the form asks again ("明日の天気は？", "ハチの巣ができて困ってます").
UNPLACED_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


def faq_answer(ctx: TurnContext) -> FaqHit | None:
    """The FAQ hit to answer this message with instead of its intent's handler, or None."""
    parse = ctx.parse
    if parse.from_payload or parse.intent in ALWAYS_FIRST or ctx.state.pending_question is not None:
        return None
    faq = getattr(ctx.services, "knowledge", {}).get("faq")
    text = parse.text or ctx.event.text
    if faq is None or not text.strip():
        return None
    hits = faq.search(text, top_k=3)
    if not faq.is_confident(hits):
        return None
    best: FaqHit = hits[0]
    if parse.intent in FAQ_FIRST_INTENTS:
        return best
    over_nlu = parse.intent in FAQ_OVER_NLU_INTENTS or parse.confidence < INTENT_SURE
    bar = FAQ_OVER_INTENT
    if parse.intent == "out_of_scope" and parse.confidence >= OUT_OF_SCOPE_SURE:
        bar = FAQ_OVER_SURE_OUT_OF_SCOPE
    return best if over_nlu and best.confidence >= bar else None


class Router:
    def __init__(self, handlers: Iterable[Handler], *, fallback: Handler) -> None:
        self._by_name: dict[str, Handler] = {}
        self._by_intent: dict[str, Handler] = {}
        for handler in handlers:
            self._by_name[handler.name] = handler
            for intent in handler.intents:
                if intent in self._by_intent:
                    raise ValueError(f"intent {intent!r} has two handlers")
                self._by_intent[intent] = handler
        self._fallback = fallback
        self._by_name.setdefault(fallback.name, fallback)

    @property
    def intents(self) -> frozenset[str]:
        return frozenset(self._by_intent)

    def handler_for_intent(self, intent: str) -> Handler | None:
        return self._by_intent.get(intent)

    def handler_named(self, name: str) -> Handler | None:
        return self._by_name.get(name)

    async def route(self, ctx: TurnContext) -> None:
        intent = ctx.parse.intent
        form = self._active_form(ctx)
        if form is not None and self._answer_not_command(ctx):
            ctx.handled_by = form.name
            await form.resume(ctx)
            return
        if intent in ALWAYS_FIRST or form is None:
            await self._answer(ctx)
            return
        if form.takes_over(ctx) and not self._unrelated_to_form(ctx, form):
            ctx.handled_by = form.name
            await form.resume(ctx)
            return
        # An unrelated question in the middle of a form: answer it, then pick the form up again.
        await self._answer(ctx)
        if ctx.state.active_form is not None and ctx.state.active_form.name == form.name:
            await form.prompt(ctx)

    @staticmethod
    def _answer_not_command(ctx: TurnContext) -> bool:
        parse = ctx.parse
        cues = CUES.get(parse.intent)
        if cues is None or parse.from_payload:
            return False
        return not any(cue in parse.text for cue in cues)

    def _unrelated_to_form(self, ctx: TurnContext, form: FormHandler) -> bool:
        """A message the NLU could not place, that the form takes no value from, and that the FAQ
        answers or the NLU calls out of scope ("明日の天気は？", "ハチの巣ができて困ってます")."""
        parse = ctx.parse
        if parse.from_payload or parse.intent not in UNPLACED_INTENTS or self._form_would_fill(ctx, form):
            return False
        return parse.intent == "out_of_scope" or faq_answer(ctx) is not None

    @staticmethod
    def _form_would_fill(ctx: TurnContext, form: FormHandler) -> bool:
        """Would the form take a value for the slot it asked for from this message?

        True (the form keeps the message, as before) when no slot is being asked (e.g. at the
        confirmation, where the form reads corrections itself) or the form cannot tell.
        `Form._would_fill` is the forms' own check (handlers/forms.py; a public `would_fill`
        is preferred when a form has one).
        """
        active = ctx.state.active_form
        would_fill = getattr(form, "would_fill", None) or getattr(form, "_would_fill", None)
        if would_fill is None or active is None or active.requested_slot is None:
            return True
        return bool(would_fill(ctx))

    async def _answer(self, ctx: TurnContext) -> None:
        """The FAQ when `faq_answer` says so, else the intent's handler (or the fallback)."""
        hit = faq_answer(ctx)
        if hit is not None:
            ctx.handled_by = "faq"
            say_faq_answer(ctx, hit)
            return
        await self._by_intent_or_fallback(ctx)

    def _active_form(self, ctx: TurnContext) -> FormHandler | None:
        active = ctx.state.active_form
        if active is None:
            return None
        handler = self._by_name.get(active.name)
        if not isinstance(handler, FormHandler):
            log.warning("dropping active form with no handler", extra={"form": active.name})
            ctx.state.active_form = None
            return None
        return handler

    async def _by_intent_or_fallback(self, ctx: TurnContext) -> None:
        handler = self._by_intent.get(ctx.parse.intent, self._fallback)
        ctx.handled_by = handler.name
        await handler.handle(ctx)
