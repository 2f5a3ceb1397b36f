"""A SudachiPy tokenizer component for Rasa 3.6 (Rasa's WhitespaceTokenizer refuses Japanese).

Lives in the Rasa server's own Python 3.10 environment (`pip install sudachipy sudachidict-core`
there), on PYTHONPATH when `rasa train` / `rasa run` start; config.yml names it
`sudachi_tokenizer.SudachiTokenizer`. Tokens carry Sudachi's normalized form as their lemma so
that ゴミ/ごみ and 申し込み/申込 meet, as in the embedded engine.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message
from sudachipy import Dictionary, SplitMode


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class SudachiTokenizer(Tokenizer):
    @staticmethod
    def supported_languages() -> list[str] | None:
        return ["ja"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent_tokenization_flag": False, "intent_split_symbol": "_", "token_pattern": None}

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self._tokenizer = Dictionary(dict="core").tokenizer(mode=SplitMode.C)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SudachiTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = message.get(attribute) or ""
        tokens = []
        for m in self._tokenizer.tokenize(text):
            if m.part_of_speech()[0] == "空白":
                continue
            tokens.append(Token(m.surface(), m.begin(), lemma=m.normalized_form()))
        return self._apply_token_pattern(tokens)
