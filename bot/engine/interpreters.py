"""Choose the NLU engine from settings: the embedded one (default) or a Rasa server."""

from __future__ import annotations

from bot.settings import Settings
from nlu.interpreter import EmbeddedInterpreter, Interpreter
from nlu.rasa_http import RasaHTTPInterpreter


def build_interpreter(settings: Settings) -> Interpreter:
    if settings.nlu_engine == "rasa":
        return RasaHTTPInterpreter(settings.rasa_url)
    from nlu.engine import load_or_train

    return EmbeddedInterpreter(load_or_train(settings.data_dir / "models"))
