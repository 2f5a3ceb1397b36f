"""Every handler the router knows, in one list, plus the FAQ step and the after-turn hooks.

The app (`bot/assembly.py`) hands these to the engine; handlers never import the engine's router.
"""

from __future__ import annotations

from handlers.base import FaqStep, Handler, TurnHook
from handlers.consent import profile_handlers
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
from handlers.faq_first import FaqFirst
from handlers.handoff import RequestHumanHandler, SensitiveHandler
from handlers.suggestions import SuggestionHook


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
        *profile_handlers(),  # consent, privacy, account linking, suggestion decline
    ]


def procedure_handlers() -> list[Handler]:
    """Procedure handlers: one per procedure intent (informational answers and forms)."""
    handlers: list[Handler] = []
    # -- catalog, certificates, life events, ごみ分別 (handlers/procedures.py, certificates.py, ...) --
    from handlers.certificates import certificate_forms
    from handlers.life_events import life_event_forms
    from handlers.procedures import ProcedureInfoHandler
    from handlers.waste import WasteSortingHandler

    handlers += [ProcedureInfoHandler(), *certificate_forms(), *life_event_forms(), WasteSortingHandler()]
    # -- reservations: 粗大ごみ, 一時預かり, 施設予約, 介護の相談 (handlers/reservations*.py) --
    from handlers.bulky_waste import BulkyWasteForm
    from handlers.care import CareConsultationForm
    from handlers.childcare import ChildcareForm
    from handlers.facilities import FacilityBookingForm
    from handlers.reservation_manage import ReservationManageForm

    handlers += [BulkyWasteForm(), ChildcareForm(), FacilityBookingForm(), CareConsultationForm()]
    handlers += [ReservationManageForm()]  # 予約の確認・取消し
    return handlers


def all_handlers() -> list[Handler]:
    return conversation_handlers() + procedure_handlers()


def fallback_handler() -> Handler:
    return FallbackHandler()


def faq_step() -> FaqStep:
    return FaqFirst()


def build_hooks(services: object) -> list[TurnHook]:
    """Hooks that run after the handler (e.g. consent-gated suggestions from the profile)."""
    hooks: list[TurnHook] = []
    hooks.append(SuggestionHook())  # consent-gated suggestions from the resident profile
    return hooks
