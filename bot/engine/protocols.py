"""The handler contract, owned by the engine (issue 11 item 5): the router and the dispatcher are
given objects that meet these protocols; handlers implement them (`handlers/base.py` re-exports
them for handler modules).

Deciding whether a handler takes a message (the router, by intent or by the active form) is
kept apart from handling it. A handler that runs a multi-turn form also implements `resume`
(the next message while its form is active) and `prompt` (ask again for what it still needs,
after an interruption).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from bot.engine.expectations import Expectation
from bot.engine.turn import TurnContext

# Intents that win over everything, an active form and the FAQ included (when the words say so)
ALWAYS_FIRST = ("dv_abuse", "request_human", "cancel", "counter_visit")  # 窓口予約: buttons only


@runtime_checkable
class Handler(Protocol):
    name: str
    intents: frozenset[str]

    async def handle(self, ctx: TurnContext) -> None:
        """Answer a message whose intent this handler owns."""
        ...


@runtime_checkable
class FormHandler(Handler, Protocol):
    def takes_over(self, ctx: TurnContext) -> bool:
        """While the form is active: is this message for the form (a slot value, yes/no, a
        correction) rather than an unrelated question?"""
        ...

    async def resume(self, ctx: TurnContext) -> None:
        """Continue the active form with this message."""
        ...

    async def prompt(self, ctx: TurnContext) -> None:
        """Ask again for the next missing thing (used after an interruption)."""
        ...


@runtime_checkable
class ExpectationOwner(Protocol):
    """A handler that owns the answer to an open question or followup on the stack of
    expectations (`bot/engine/expectations.py`): `expects` names them; the router asks `claims`
    top first, before any intent, and gives a claimed message to `answer`."""

    name: str
    expects: frozenset[str]

    def claims(self, ctx: TurnContext, expectation: Expectation) -> bool:
        """Is this message the answer to `expectation`?"""
        ...

    async def answer(self, ctx: TurnContext, expectation: Expectation) -> None:
        """Answer it (and take the expectation off the stack)."""
        ...


class TurnHook(Protocol):
    """Runs after the handler, e.g. consent-gated suggestions from the resident profile."""

    async def after_turn(self, ctx: TurnContext) -> None: ...


class LanguageHook(Protocol):
    """The conversation's language (CONTRACTS §9; `handlers.i18n.LanguageLayer`): set from the
    message, answer in it instead of the router, the engine's own words in it, and the last
    rewriting of the replies (やさしい日本語)."""

    def observe(self, ctx: TurnContext) -> None: ...

    async def answer(self, ctx: TurnContext) -> bool: ...

    def text(self, ctx: TurnContext, key: str, japanese: str) -> str: ...

    def render(self, ctx: TurnContext) -> None: ...


class FaqStep(Protocol):
    """Before the intent's handler: does the municipality's FAQ answer this message instead?"""

    def match(self, ctx: TurnContext) -> Any | None:
        """The FAQ hit to answer with, or None to let the intent's handler answer."""
        ...

    def answer(self, ctx: TurnContext, hit: Any) -> None: ...
