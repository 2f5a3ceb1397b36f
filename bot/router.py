"""Router: active procedure first, then intent -> handler, then FAQ / fallback.

Some intents win over everything (cancel, asking for a person, DV or abuse). While a form is
active, the form takes the message unless it is clearly about something else; then that other
question is answered and the form asks again for what it still needs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.turn import TurnContext
from handlers.base import FormHandler, Handler

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
            await self._by_intent_or_fallback(ctx)
            return
        if form.takes_over(ctx):
            ctx.handled_by = form.name
            await form.resume(ctx)
            return
        # An unrelated question in the middle of a form: answer it, then pick the form up again.
        await self._by_intent_or_fallback(ctx)
        if ctx.state.active_form is not None and ctx.state.active_form.name == form.name:
            await form.prompt(ctx)

    @staticmethod
    def _answer_not_command(ctx: TurnContext) -> bool:
        parse = ctx.parse
        cues = CUES.get(parse.intent)
        if cues is None or parse.from_payload:
            return False
        return not any(cue in parse.text for cue in cues)

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
