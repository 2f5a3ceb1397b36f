"""Every handler the router knows, in one list, plus the fallback, the FAQ step and the hooks.

The app (`bot/engine/assembly.py`) hands these to the engine; handlers never import the engine's router.
The fallback answers the catalog's procedures that no handler here owns (`handlers.procedures`).
"""

from __future__ import annotations

from handlers.base import FaqStep, Handler, LanguageHook, TurnHook
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
from handlers.notices import NoticeSettingsHandler
from handlers.procedures import ProcedureInfoHandler
from handlers.suggestions import SuggestionHook
from knowledge.catalog import Catalog


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
        NoticeSettingsHandler(),  # outreach notices: stop, restart, what is sent (CONTRACTS §7)
    ]


def procedure_handlers() -> list[Handler]:
    """Procedure forms, each owning its intents; the catalog's other procedures are answered by
    the fallback (`fallback_handler`), so no list of them is kept here."""
    handlers: list[Handler] = []
    # -- certificates, life events, ごみ分別 (handlers/certificates.py, life_events.py, waste.py) --
    from handlers.certificates import certificate_forms
    from handlers.life_events import life_event_forms
    from handlers.waste import WasteSortingHandler

    handlers += [*certificate_forms(), *life_event_forms(), WasteSortingHandler()]
    # -- reservations: 粗大ごみ, 一時預かり, 施設予約, 介護の相談 (handlers/reservations*.py) --
    from handlers.bulky_waste import BulkyWasteForm
    from handlers.care import CareConsultationForm
    from handlers.childcare import ChildcareForm
    from handlers.facilities import FacilityBookingForm
    from handlers.reservation_manage import ReservationManageForm

    handlers += [BulkyWasteForm(), ChildcareForm(), FacilityBookingForm(), CareConsultationForm()]
    handlers += [ReservationManageForm()]  # 予約の確認・取消し
    from handlers.reports import ReportForm

    handlers += [ReportForm()]  # 通報 (handlers/reports.py)
    from handlers.callback import CallbackForm

    handlers += [CallbackForm()]  # 折り返し電話の依頼 (staff callbacks)
    from handlers.counter_visit import CounterVisitHandler

    handlers += [CounterVisitHandler()]  # 窓口予約 (a counter visit, offered beside the callback)
    return handlers


def all_handlers() -> list[Handler]:
    return conversation_handlers() + procedure_handlers()


def fallback_handler() -> Handler:
    """What no handler's intents claim: a procedure of the loaded catalog is answered from the
    catalog, anything else by `FallbackHandler`."""
    return ProcedureInfoHandler(otherwise=FallbackHandler())


def info_intents(catalog: Catalog) -> frozenset[str]:
    """The procedures of `catalog` that the fallback answers: those no handler owns."""
    owned = {intent for handler in all_handlers() for intent in handler.intents}
    return frozenset(i for i in catalog.intents if i not in owned)


def faq_step() -> FaqStep:
    return FaqFirst()


def build_hooks(services: object) -> list[TurnHook]:
    """Hooks that run after the handler (e.g. consent-gated suggestions from the profile)."""
    hooks: list[TurnHook] = []
    hooks.append(SuggestionHook())  # consent-gated suggestions from the resident profile
    return hooks


def language_layer() -> LanguageHook:
    """English, やさしい日本語 and other languages (CONTRACTS §9): the dispatcher's language hook."""
    from handlers.i18n import LanguageLayer

    return LanguageLayer()
