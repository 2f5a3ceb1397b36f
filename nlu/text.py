"""Text normalization and SudachiPy tokenization shared by the NLU and the retrievers.

Residents write full-width digits, half-width katakana, stretched vowels and emoji; everything
downstream (classifier features, FAQ and ごみ search) sees one normalized form so that those
variants meet. Offsets: `normalize_with_offsets` returns, for every character of the normalized
text, the span of the original text it came from, so entity spans can point into the original.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from sudachipy import Dictionary, SplitMode

_COMBINING = frozenset("\uff9e\uff9f\u3099\u309a")  # (half-width) voiced sound marks
_REPEATABLE = frozenset("!?！？。、,.~〜ー…・")
_LONG_VOWEL_LIKE = frozenset("-‐‑‒–—―─━〜~ｰ")
_EMOJI_EXTRA = frozenset("\u200d\ufe0e\ufe0f\u20e3")


@dataclass(frozen=True, slots=True)
class Normalized:
    """Normalized text plus, per normalized character, the original [start, end) span."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalized text back to the original text."""
        if not self.starts or end <= start:
            return (0, 0)
        return (self.starts[start], self.ends[end - 1])


def _is_katakana(ch: str) -> bool:
    return "\u30a1" <= ch <= "\u30fa"


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    if ch in _EMOJI_EXTRA or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    return unicodedata.category(ch) == "So"


def _chunks(text: str) -> list[tuple[str, int, int]]:
    """NFKC per base character (+ following combining marks), keeping original spans."""
    out: list[tuple[str, int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and text[j] in _COMBINING:
            j += 1
        for ch in unicodedata.normalize("NFKC", text[i:j]):
            out.append((ch, i, j))
        i = j
    return out


def _clean(chars: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop control characters and emoji, unify long-vowel marks, collapse repeats and spaces."""
    out: list[tuple[str, int, int]] = []
    for ch, s, e in chars:
        cat = unicodedata.category(ch)
        if ch.isspace():
            ch = " "
        elif cat == "Cf" or ch in _EMOJI_EXTRA:
            continue  # zero-width characters and emoji joiners vanish
        elif cat in ("Cc", "Cs", "Co", "Cn") or _is_emoji(ch):
            ch = " "  # an emoji separates words like a space does
        elif ch in _LONG_VOWEL_LIKE and out and (_is_katakana(out[-1][0]) or out[-1][0] == "ー"):
            ch = "ー"
        prev = out[-1][0] if out else " "
        if ch == " " and prev == " ":
            continue
        if ch == prev and ch in _REPEATABLE:
            continue
        out.append((ch.lower(), s, e))
    while out and out[-1][0] == " ":
        out.pop()
    if out and out[0][0] == " ":
        out.pop(0)
    return out


def normalize_with_offsets(text: str) -> Normalized:
    """Normalize `text` and keep the mapping to the original character offsets."""
    chars = _clean(_chunks(text or ""))
    return Normalized(
        "".join(c for c, _, _ in chars),
        tuple(s for _, s, _ in chars),
        tuple(e for _, _, e in chars),
    )


def normalize(text: str) -> str:
    """NFKC, lower-case Latin, drop emoji/control chars, unify ー, collapse spaces and repeats."""
    return normalize_with_offsets(text).text


class Token(NamedTuple):
    """One Sudachi morpheme (a NamedTuple: built for every morpheme of every message, and a
    tuple is several times cheaper to create than a frozen dataclass)."""

    surface: str
    normalized: str
    pos: str
    begin: int
    end: int
    reading: str = ""  # katakana reading (Sudachi reading_form), lets こくほ meet 国保


_local = threading.local()
# Variants Sudachi's normalized form leaves apart but residents mean the same by.
_NORMALIZED_OVERRIDES = {"ゴミ": "ごみ", "塵": "ごみ", "粗大塵": "粗大ごみ"}
MAX_TOKENIZE_CHARS = 4000  # Sudachi's input limit is in bytes; long texts are tokenized in pieces


SUDACHI_DICTS = ("core", "small", "full")


def dictionary_name() -> str:
    """The Sudachi system dictionary: $SUDACHI_DICT (core, small or full; default core).
    `small` (sudachidict-small) maps ~115 MB instead of ~200 MB; it must be installed."""
    name = os.environ.get("SUDACHI_DICT", "core").strip().lower() or "core"
    if name not in SUDACHI_DICTS:
        raise ValueError(f"SUDACHI_DICT must be one of {', '.join(SUDACHI_DICTS)}, not {name!r}")
    return name


@cache
def _load_dictionary(name: str) -> Dictionary:
    return Dictionary(dict=name)


def dictionary() -> Dictionary:
    """The process's one Sudachi dictionary (mapped once: every user shares it, issue 12)."""
    return _load_dictionary(dictionary_name())


def _tokenizer():  # type: ignore[no-untyped-def]
    # Sudachi tokenizers are not thread-safe; one per thread, sharing the dictionary.
    name = dictionary_name()
    tok = getattr(_local, "tok_" + name, None)
    if tok is None:
        tok = _load_dictionary(name).tokenizer(mode=SplitMode.C)
        setattr(_local, "tok_" + name, tok)
    return tok


def _pieces(text: str) -> list[tuple[int, str]]:
    if len(text) <= MAX_TOKENIZE_CHARS:
        return [(0, text)]
    return [(i, text[i : i + MAX_TOKENIZE_CHARS]) for i in range(0, len(text), MAX_TOKENIZE_CHARS)]


def tokenize(text: str) -> list[Token]:
    """Tokenize already-normalized text into Sudachi morphemes (mode C)."""
    if not text:
        return []
    tok = _tokenizer()
    pos_names = _pos_names(dictionary_name())
    tokens: list[Token] = []
    for base, piece in _pieces(text):
        for m in tok.tokenize(piece):
            surface = m.surface()
            if surface.isspace():
                continue
            normalized = m.normalized_form()
            normalized = _NORMALIZED_OVERRIDES.get(normalized, normalized)
            pos_id = m.part_of_speech_id()
            pos = pos_names.get(pos_id) or pos_names.setdefault(pos_id, m.part_of_speech()[0])
            tokens.append(Token(surface, normalized, pos, base + m.begin(), base + m.end(), m.reading_form()))
    return tokens


@cache
def _pos_names(_dictionary: str) -> dict[int, str]:
    """Part-of-speech id → its first level (名詞, 動詞 …), filled as ids are met (a dictionary
    has a few thousand ids; a message uses a handful)."""
    return {}


def readings(text: str) -> list[tuple[str, str]]:
    """(surface, hiragana reading) of every morpheme of `text`, spaces included, so that the
    surfaces joined give `text` back. Read with Sudachi's dictionary (mode C, the words the NLU
    sees), the one the NLU has loaded anyway; a word Sudachi does not know keeps
    its surface as its reading, and so do digits and Latin letters (1通 stays 1)."""
    if not text:
        return []
    tok = _tokenizer()
    out: list[tuple[str, str]] = []
    for _base, piece in _pieces(text):
        for m in tok.tokenize(piece):
            surface = m.surface()
            kana = m.reading_form() if not m.is_oov() and _JAPANESE.search(surface) else ""
            out.append((surface, _katakana_to_hiragana(kana) if kana else surface))
    return out


_JAPANESE = re.compile(r"[\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff々]")


def _katakana_to_hiragana(text: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text)
