"""Every handler the router knows, in one list."""

from __future__ import annotations

from bot.router import Router
from handlers.base import Handler, TurnHook
from handlers.conversation import (
    CancelHandler,
    CapabilitiesHandler,
    GoodbyeHandler,
    GreetHandler,
    OutOfScopeHandler,
    ThanksHandler,
    UnsupportedEventHandler,
    YesNoHandler,
)
from handlers.fallback import FallbackHandler
from handlers.handoff import RequestHumanHandler, SensitiveHandler


def conversation_handlers() -> list[Handler]:
    return [
        GreetHandler(),
        CapabilitiesHandler(),
        ThanksHandler(),
        GoodbyeHandler(),
        OutOfScopeHandler(),
        YesNoHandler(),
        CancelHandler(),
        UnsupportedEventHandler(),
        RequestHumanHandler(),
        SensitiveHandler(),
    ]


def build_router() -> Router:
    return Router(conversation_handlers(), fallback=FallbackHandler())


def build_hooks(services: object) -> list[TurnHook]:
    return []
