"""Sparse TF-IDF features: Sudachi normalized-form uni/bigrams, reading n-grams + character n-grams.

Implemented by hand (not sklearn's vectorizers) so that inference is a few dict look-ups and one
small dot product; training builds a scipy CSR matrix with exactly the same values.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu.text import Token

if TYPE_CHECKING:
    from nlu.entities import Values

_SKIP_POS = frozenset({"補助記号", "空白"})
CHAR_NGRAMS = (1, 2, 3)
READING_NGRAMS = (2, 3)  # katakana readings: こくほ / 国保 / コクホ share these
WORD_WEIGHT = 1.0
CHAR_WEIGHT = 1.0
POLARITY_WEIGHT = 0.8  # its own block, so one negation is not drowned by twenty shared n-grams
MAX_FEATURE_CHARS = 1000  # long messages: the first part carries the request


# Polarity: "同意します" and "同意しません / 同意を取り消す" share almost every n-gram. Two kinds of
# term let the classifier tell them apart: "n:<word>" for the content word a negation (ない・ず・ぬ)
# applies to (同意しない → n:同意, 使わないで → n:使う), and "x:stop" for a stop/withdraw word.
_NEGATION = frozenset({"ない", "ず", "ぬ"})
_STOP_WORDS = frozenset(
    {
        "止める",
        "やめる",
        "辞める",
        "止む",
        "取り消す",
        "取り消し",
        "取消し",
        "取消",
        "撤回",
        "解除",
        "停止",
        "中止",
        "取り下げる",
        "取り止める",
        "取りやめる",
        "オフ",
        "不要",
        "結構",
        "キャンセル",
        "中断",
        "断る",
        "拒否",
        "無し",
        "なし",
    }
)
_LIGHT_WORDS = frozenset({"為る", "有る", "居る", "成る", "て", "で", "は", "も", "を", "が", "に", "ませ", "ます"})


def polarity_terms(tokens: Sequence[Token]) -> list[str]:
    terms: list[str] = []
    for i, t in enumerate(tokens):
        if t.normalized in _STOP_WORDS:
            terms.append("x:stop")
        if t.pos == "助動詞" and t.normalized in _NEGATION:
            terms.append("x:neg")
            for prev in reversed(tokens[max(0, i - 4) : i]):
                if prev.pos in ("名詞", "動詞", "形容詞", "形状詞") and prev.normalized not in _LIGHT_WORDS:
                    terms.append("n:" + prev.normalized)
                    break
    return terms


# Shape: does the message consist mostly of a value (a date, time, age, count or address), as a
# bare answer to a form's question does ("12月5日", "3人", "中央2-5です")? Learned per intent like
# any other term, so "来週の火曜日に2歳の子を預けたい" (a value inside a request) is not affected.
_ADDRESS = re.compile(
    r"(?:[一-龥ぁ-んァ-ヶー]{1,4}?(?=[0-9]))?"  # the 町名 right before the number
    r"(?:[0-9]+丁目(?:[0-9]+番地?)?(?:[0-9]+号)?|[0-9]+番地?(?:[0-9]+号?)?|[0-9]+(?:-[0-9]+){1,2}|[0-9]+の[0-9]+)"
)
_MONTHS_OLD = re.compile(r"(?:生後)?[0-9一二三四五六七八九十]{1,2}(?:か|カ|ヶ|ケ|ヵ|箇)月(?!後|前)")
_FILLER = re.compile(
    r"です|でお願いします|お願いします|ください|くらい|ぐらい|ごろ|頃|から|まで|で|に|は|を|と|が|の|[\s!?。、,.~〜ー]"
)
_SHAPE_REFERENCE_DAY = dt.date(2026, 1, 1)  # spans do not depend on the day


def shape_terms(text: str, values: Values | None = None) -> list[str]:
    """Value-shape cues of a normalized text. `values`: its `scan_values` (any reference day: the
    spans do not depend on it), when the caller already has it."""
    from nlu.entities import AGE_PATTERN, scan_values

    text = text[:MAX_FEATURE_CHARS]
    if values is None:
        values = scan_values(text, _SHAPE_REFERENCE_DAY)
    n = len(text)
    spans = [("date", s.start, s.end) for s in values.dates if s.end <= n]
    spans += [("time", s.start, s.end) for s in values.times if s.end <= n]
    spans += [("count", s.start, s.end) for s in values.counts if s.end <= n]
    spans += [("age", m.start(), m.end()) for m in AGE_PATTERN.finditer(text)]
    spans += [("age", m.start(), m.end()) for m in _MONTHS_OLD.finditer(text)]
    spans += [("address", m.start(), m.end()) for m in _ADDRESS.finditer(text)]
    if not spans:
        return []
    covered = [False] * len(text)
    for _, a, b in spans:
        covered[a:b] = [True] * (b - a)
    rest = _FILLER.sub("", "".join(ch for ch, c in zip(text, covered, strict=True) if not c))
    kinds = sorted({k for k, _, _ in spans})
    terms = ["e:" + k for k in kinds]
    if len(rest) <= 1:
        terms += ["e:bare"] + ["e:bare_" + k for k in kinds]
    return terms


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


def blocks(text: str, tokens: Sequence[Token], values: Values | None = None) -> tuple[list[str], list[str], list[str]]:
    """Word terms, character n-grams, and cue terms (polarity + shape) of a normalized text."""
    return word_terms(tokens), char_terms(text), polarity_terms(tokens) + shape_terms(text, values)


class Featurizer:
    """Vocabulary and idf of the blocks; `vector` maps a text to (indices, values)."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self.vocab = vocab
        self.idf = idf.astype(np.float64)
        self._idf = self.idf.tolist()  # plain floats: the hot path works on a few dozen terms

    @property
    def size(self) -> int:
        return len(self.vocab)

    @classmethod
    def fit(cls, docs: Iterable[Sequence[list[str]]]) -> Featurizer:
        df: Counter[str] = Counter()
        n = 0
        for doc in docs:
            n += 1
            for block in doc:
                df.update(set(block))
        # Index order = descending document frequency: the terms nearly every message has (particles,
        # common characters) sit together in the dict and in the weight matrix, which keeps the
        # per-message look-ups and row gathers in fewer cache lines.
        terms = sorted(df, key=lambda t: (-df[t], t))
        vocab = {t: i for i, t in enumerate(terms)}
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return cls(vocab, idf)

    def _block(self, terms: list[str], weight: float, idx: list[int], vals: list[float]) -> None:
        """Append the L2-normalized (1 + log tf) * idf values of one block, scaled by `weight`."""
        get = self.vocab.get
        tally: dict[int, int] = {}
        for i in map(get, terms):
            if i is not None:
                tally[i] = tally.get(i, 0) + 1
        if not tally:
            return
        idf = self._idf
        keys = sorted(tally)
        block = [idf[i] if tally[i] == 1 else (1.0 + math.log(tally[i])) * idf[i] for i in keys]
        scale = weight / math.sqrt(math.fsum(v * v for v in block))
        idx += keys
        vals += [v * scale for v in block]

    def vector(
        self, words: list[str], chars: list[str], polarity: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the L2-normalized TF-IDF blocks; the blocks never share a term."""
        idx: list[int] = []
        vals: list[float] = []
        self._block(words, WORD_WEIGHT, idx, vals)
        self._block(chars, CHAR_WEIGHT, idx, vals)
        self._block(polarity or [], POLARITY_WEIGHT, idx, vals)
        return np.array(idx, dtype=np.intp), np.array(vals, dtype=np.float64)

    def matrix(self, docs: Sequence[Sequence[list[str]]]) -> Any:
        """scipy CSR matrix of `docs` (scipy is imported only for training)."""
        import scipy.sparse as sp

        rows, cols, vals = [], [], []
        for r, doc in enumerate(docs):
            idx, val = self.vector(*doc)
            rows.extend([r] * len(idx))
            cols.extend(idx.tolist())
            vals.extend(val.tolist())
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), self.size))
