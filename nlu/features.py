"""Sparse TF-IDF features: Sudachi normalized-form uni/bigrams, reading n-grams + character n-grams.

Implemented by hand (not sklearn's vectorizers) so that inference is a few dict look-ups and one
small dot product; training builds a scipy CSR matrix with exactly the same values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from nlu.text import Token

_SKIP_POS = frozenset({"補助記号", "空白"})
CHAR_NGRAMS = (1, 2, 3)
READING_NGRAMS = (2, 3)  # katakana readings: こくほ / 国保 / コクホ share these
WORD_WEIGHT = 1.0
CHAR_WEIGHT = 1.0
MAX_FEATURE_CHARS = 1000
_EMPTY_IDX = np.zeros(0, dtype=np.int64)
_EMPTY_VAL = np.zeros(0, dtype=np.float64)  # long messages: the first part carries the request


def word_terms(tokens: Sequence[Token]) -> list[str]:
    words = [t.normalized for t in tokens if t.pos not in _SKIP_POS]
    terms = ["w:" + w for w in words]
    terms += ["b:" + a + "|" + b for a, b in zip(words, words[1:], strict=False)]
    return terms + reading_terms(tokens)


def reading_terms(tokens: Sequence[Token]) -> list[str]:
    reading = "^" + "".join("_" if t.pos in _SKIP_POS else t.reading for t in tokens)[:MAX_FEATURE_CHARS] + "$"
    terms = []
    for n in READING_NGRAMS:
        terms += ["r:" + reading[i : i + n] for i in range(len(reading) - n + 1)]
    return terms


def char_terms(text: str) -> list[str]:
    text = "^" + text[:MAX_FEATURE_CHARS].replace(" ", "_") + "$"
    terms = []
    for n in CHAR_NGRAMS:
        terms += ["c:" + text[i : i + n] for i in range(len(text) - n + 1)]
    return [t for t in terms if t not in ("c:^", "c:$")]


def blocks(text: str, tokens: Sequence[Token]) -> tuple[list[str], list[str]]:
    return word_terms(tokens), char_terms(text)


class Featurizer:
    """Vocabulary and idf of the two blocks; `vector` maps a text to (indices, values)."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self.vocab = vocab
        self.idf = idf.astype(np.float64)

    @property
    def size(self) -> int:
        return len(self.vocab)

    @classmethod
    def fit(cls, docs: Iterable[tuple[list[str], list[str]]]) -> Featurizer:
        df: Counter[str] = Counter()
        n = 0
        for words, chars in docs:
            n += 1
            df.update(set(words))
            df.update(set(chars))
        terms = sorted(df)
        vocab = {t: i for i, t in enumerate(terms)}
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return cls(vocab, idf)

    def _block(self, terms: list[str], weight: float) -> tuple[np.ndarray, np.ndarray]:
        get = self.vocab.get
        ids = [i for i in map(get, terms) if i is not None]
        if not ids:
            return _EMPTY_IDX, _EMPTY_VAL
        idx, counts = np.unique(np.array(ids, dtype=np.int64), return_counts=True)
        vals = (1.0 + np.log(counts)) * self.idf[idx]
        return idx, vals * (weight / float(np.sqrt(vals @ vals)))

    def vector(self, words: list[str], chars: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the L2-normalized TF-IDF blocks; the blocks never share a term."""
        wi, wv = self._block(words, WORD_WEIGHT)
        ci, cv = self._block(chars, CHAR_WEIGHT)
        return np.concatenate((wi, ci)), np.concatenate((wv, cv))

    def matrix(self, docs: Sequence[tuple[list[str], list[str]]]) -> Any:
        """scipy CSR matrix of `docs` (scipy is imported only for training)."""
        import scipy.sparse as sp

        rows, cols, vals = [], [], []
        for r, (words, chars) in enumerate(docs):
            idx, val = self.vector(words, chars)
            rows.extend([r] * len(idx))
            cols.extend(idx.tolist())
            vals.extend(val.tolist())
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), self.size))
