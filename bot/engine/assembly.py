"""Wiring: the municipality's handlers, FAQ step and hooks given to the engine.

The engine (router, dispatcher) knows handlers only through the protocols it owns; this module, at
the app's level, is where the two meet (used by the app factory, the shell and the tests).
"""

from __future__ import annotations

from bot.engine.dispatcher import Dispatcher
from bot.engine.router import Router
from bot.engine.services import Services
from handlers import registry


def build_router() -> Router:
    from handlers.procedures import answer_facet_question

    return Router(
        registry.all_handlers(),
        fallback=registry.fallback_handler(),
        faq=registry.faq_step(),
        facet_answer=answer_facet_question,
    )


def build_hooks(services: Services) -> list:  # type: ignore[type-arg]
    return list(registry.build_hooks(services))


def build_dispatcher(services: Services) -> Dispatcher:
    return Dispatcher(services, build_router(), build_hooks(services), language=registry.language_layer())
