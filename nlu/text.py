"""Text normalization and SudachiPy tokenization shared by the NLU and the retrievers.

Residents write full-width digits, half-width katakana, stretched vowels and emoji; everything
downstream (classifier features, FAQ and ごみ search) sees one normalized form so that those
variants meet. Offsets: `normalize` keeps a one-to-one character mapping where NFKC allows it
(see `normalize_with_offsets`) so entity spans can point into the original text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sudachipy import Dictionary, SplitMode

_REPEAT_PUNCT = re.compile(r"([!?！？。、,.~〜ー…])\1+")
_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, lower-case Latin, collapse spaces and repeated punctuation."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch in "\n\t")
    text = _REPEAT_PUNCT.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip()
    return text.lower()


@dataclass(frozen=True, slots=True)
class Token:
    surface: str
    normalized: str
    pos: str
    begin: int
    end: int


_local = threading.local()


@lru_cache(maxsize=1)
def _dictionary() -> Dictionary:
    return Dictionary(dict="core")


def _tokenizer():  # type: ignore[no-untyped-def]
    # Sudachi tokenizers are not thread-safe; one per thread, sharing the dictionary.
    tok = getattr(_local, "tok", None)
    if tok is None:
        tok = _dictionary().create(SplitMode.C)
        _local.tok = tok
    return tok


def tokenize(text: str) -> list[Token]:
    """Tokenize already-normalized text into Sudachi morphemes (mode C)."""
    if not text:
        return []
    return [
        Token(m.surface(), m.normalized_form(), m.part_of_speech()[0], m.begin(), m.end())
        for m in _tokenizer().tokenize(text)
    ]
