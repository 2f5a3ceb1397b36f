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


def procedure_handlers() -> list[Handler]:
    """Procedure handlers: one per procedure intent (informational answers and forms)."""
    handlers: list[Handler] = []
    # -- catalog, certificates, life events, ごみ分別 (handlers/procedures.py, certificates.py, ...) --
    # -- reservations: 粗大ごみ, 一時預かり, 施設予約, 介護の相談 (handlers/reservations*.py) --
    return handlers


def build_router() -> Router:
    return Router(conversation_handlers() + procedure_handlers(), fallback=FallbackHandler())


def build_hooks(services: object) -> list[TurnHook]:
    """Hooks that run after the handler (e.g. consent-gated suggestions from the profile)."""
    hooks: list[TurnHook] = []
    return hooks
