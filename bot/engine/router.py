"""Router: the stack of expectations first, then FAQ-first, then intent -> handler, then fallback.

Who owns the next message is one ordered stack in the conversation's state
(`bot/engine/expectations.py`), asked top first: the active form, an open question or a followup
whose owner claims the message (`ExpectationOwner`: the consent yes/no, the link code, ごみ's
"which area?"), paused forms and queued requests (these claim nothing; queued requests are taken
after the turn when no form waits). Stale entries are dropped first.

Some intents win over everything (cancel, asking for a person, DV or abuse). While a form is
active, the form takes the message unless it is clearly about something else; then that other
question is answered and the form asks again for what it still needs.

The municipality's FAQ knows questions no intent models (駐車場, ハチの巣, 開庁時間). The NLU
still names an intent for them (often `greet`, `out_of_scope` or a procedure with a modest
score), so before the intent's handler runs, the FAQ step the router is given (`FaqStep`;
`handlers/faq_first.py`) decides whether the FAQ answers instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from bot.engine import expectations, requests_queue
from bot.engine.expectations import Expectation
from bot.engine.protocols import ALWAYS_FIRST, ExpectationOwner, FaqStep, FormHandler, Handler
from bot.engine.turn import TurnContext
from nlu.safety import safety_intent

log = logging.getLogger(__name__)

# (turn, the form's intents) -> answered: a question about one facet in the middle of a form
FacetAnswer = Callable[[TurnContext, frozenset[str]], bool]

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


# While a form waits for an answer it also claims messages the NLU could not place, since a free
# answer ("山田です", "桜台2-3-4") often looks like that. Such a message that the form would take
# no value from, and that the FAQ answers or the NLU calls out of scope, is an unrelated question:
# it is answered, then the form asks again ("明日の天気は？", "ハチの巣ができて困ってます").
UNPLACED_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})


class Router:
    def __init__(
        self,
        handlers: Iterable[Handler],
        *,
        fallback: Handler,
        faq: FaqStep | None = None,
        facet_answer: FacetAnswer | None = None,
    ) -> None:
        self._faq = faq
        self._facet_answer = facet_answer  # a question mid-form (handlers/procedures.py), given by assembly
        self._by_name: dict[str, Handler] = {}
        self._by_intent: dict[str, Handler] = {}
        self._by_expectation: dict[str, ExpectationOwner] = {}
        for handler in handlers:
            self._by_name[handler.name] = handler
            if isinstance(handler, ExpectationOwner):
                for expected in handler.expects:
                    if expected in self._by_expectation:
                        raise ValueError(f"expectation {expected!r} has two owners")
                    self._by_expectation[expected] = handler
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
        self._safety_routing(ctx)
        for gone in expectations.prune(ctx.state.expectations, ctx.state.turn):
            log.info("stale expectation dropped", extra={"kind": gone.kind, "expected": gone.name})
        if ctx.parse.intent == "cancel":
            requests_queue.drop(ctx)
        elif ctx.state.active_form is None and not ctx.parse.from_payload:
            await self._split_requests(ctx)
        await self._route_one(ctx)
        await self._take_pending(ctx)

    async def _split_requests(self, ctx: TurnContext) -> None:
        """Two requests in one message: say so, take the first now and keep the others."""
        parses = await requests_queue.split_requests(ctx)
        if not parses:
            return
        requests_queue.announce(ctx, parses)
        requests_queue.keep(ctx, parses[1:])
        ctx.parse = parses[0]

    async def _take_pending(self, ctx: TurnContext) -> None:
        """When no form is left waiting (and no person is taking over), the next kept request."""
        while ctx.state.active_form is None and ctx.handoff_request is None:
            parse = requests_queue.next_pending(ctx)
            if parse is None:
                return
            ctx.say(f"続いて、{requests_queue.label(ctx, parse)}についてです。")
            ctx.parse = parse
            await self._route_one(ctx)

    async def _route_one(self, ctx: TurnContext) -> None:
        """The stack, top first: the first entry that takes the message answers it."""
        for entry in expectations.top_first(ctx.state.expectations):
            if entry.kind == "form":
                form = self._active_form(ctx)
                if form is not None:
                    await self._form_turn(ctx, form)
                    return
            elif entry.kind in ("question", "followup") and await self._claimed(ctx, entry):
                return
        await self._answer(ctx)

    async def _claimed(self, ctx: TurnContext, entry: Expectation) -> bool:
        owner = self._by_expectation.get(entry.name)
        if owner is None or not owner.claims(ctx, entry):
            return False  # not its answer: the entry stays (until stale or passed over)
        ctx.handled_by = owner.name
        await owner.answer(ctx, entry)
        return True

    async def _form_turn(self, ctx: TurnContext, form: FormHandler) -> None:
        intent = ctx.parse.intent
        if self._facet_question_in_form(ctx, form):
            # A question in the middle of a form: its answer, then the form's question again.
            ctx.handled_by = "facet_question"
            await form.prompt(ctx)
            return
        if self._answer_not_command(ctx):
            ctx.handled_by = form.name
            await form.resume(ctx)
            return
        if intent in ALWAYS_FIRST:
            await self._answer(ctx)
            return
        if form.takes_over(ctx) and not self._unrelated_to_form(ctx, form):
            ctx.handled_by = form.name
            await form.resume(ctx)
            return
        # An unrelated question in the middle of a form: answer it, then pick the form up again.
        await self._answer(ctx)
        if ctx.state.active_form is not None and ctx.state.active_form.name == form.name:
            entry = expectations.find(ctx.state.expectations, "form")
            if entry is not None:  # asked again last: the next message is the form's first
                expectations.raise_to_top(ctx.state.expectations, entry)
            await form.prompt(ctx)

    def _facet_question_in_form(self, ctx: TurnContext, form: FormHandler) -> bool:
        """A question about a fee, hours... that the form takes no value from: answered here."""
        if ctx.parse.intent in ALWAYS_FIRST or self._form_would_fill(ctx, form):
            return False
        return self._facet_answer is not None and self._facet_answer(ctx, form.intents)

    @staticmethod
    def _safety_routing(ctx: TurnContext) -> None:
        """Violence means DV; money, housing and food trouble without it mean 生活困窮
        (`nlu/cues/safety.yml`). Typed words only: a button says what it means."""
        if ctx.parse.from_payload:
            return
        rerouted = safety_intent(ctx.parse.text, ctx.parse.intent)
        if rerouted is not None:
            log.info("safety routing", extra={"from_intent": ctx.parse.intent, "to_intent": rerouted})
            ctx.parse.intent = rerouted

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
        return parse.intent == "out_of_scope" or (self._faq is not None and self._faq.match(ctx) is not None)

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
        """The FAQ when the FAQ step says so, else the intent's handler (or the fallback)."""
        hit = self._faq.match(ctx) if self._faq is not None else None
        if hit is not None:
            ctx.handled_by = "faq"
            self._faq.answer(ctx, hit)  # type: ignore[union-attr]
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
