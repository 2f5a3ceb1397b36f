"""The handler contract: the protocols live in the engine (`bot.engine.protocols`), which owns them;
handlers import them from here or from there."""

from bot.engine.protocols import ALWAYS_FIRST, FaqStep, FormHandler, Handler, LanguageHook, TurnHook

__all__ = ["ALWAYS_FIRST", "FaqStep", "FormHandler", "Handler", "LanguageHook", "TurnHook"]
