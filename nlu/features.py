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
from typing import Any

import numpy as np

from nlu.text import Token

_SKIP_POS = frozenset({"補助記号", "空白"})
CHAR_NGRAMS = (1, 2, 3)
READING_NGRAMS = (2, 3)  # katakana readings: こくほ / 国保 / コクホ share these
WORD_WEIGHT = 1.0
CHAR_WEIGHT = 1.0
POLARITY_WEIGHT = 0.8  # its own block, so one negation is not drowned by twenty shared n-grams
MAX_FEATURE_CHARS = 1000
_EMPTY_IDX = np.zeros(0, dtype=np.int64)
_EMPTY_VAL = np.zeros(0, dtype=np.float64)  # long messages: the first part carries the request


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


def shape_terms(text: str) -> list[str]:
    from nlu.dates import find_dates, find_times
    from nlu.entities import AGE_PATTERN, find_counts

    text = text[:MAX_FEATURE_CHARS]
    spans = [("date", s.start, s.end) for s in find_dates(text, _SHAPE_REFERENCE_DAY)]
    spans += [("time", s.start, s.end) for s in find_times(text)]
    spans += [("count", s.start, s.end) for s in find_counts(text)]
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


def blocks(text: str, tokens: Sequence[Token]) -> tuple[list[str], list[str], list[str]]:
    """Word terms, character n-grams, and cue terms (polarity + shape) of a normalized text."""
    return word_terms(tokens), char_terms(text), polarity_terms(tokens) + shape_terms(text)


class Featurizer:
    """Vocabulary and idf of the blocks; `vector` maps a text to (indices, values)."""

    def __init__(self, vocab: dict[str, int], idf: np.ndarray) -> None:
        self.vocab = vocab
        self.idf = idf.astype(np.float64)

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
        terms = sorted(df)
        vocab = {t: i for i, t in enumerate(terms)}
        idf = np.array([math.log((1 + n) / (1 + df[t])) + 1.0 for t in terms])
        return cls(vocab, idf)

    def _block(self, terms: list[str], weight: float) -> tuple[np.ndarray, np.ndarray]:
        # A dict count beats np.unique on the few dozen terms of a chat message (hot path).
        get = self.vocab.get
        tally: dict[int, int] = {}
        for i in map(get, terms):
            if i is not None:
                tally[i] = tally.get(i, 0) + 1
        if not tally:
            return _EMPTY_IDX, _EMPTY_VAL
        idx = np.fromiter(sorted(tally), dtype=np.int64, count=len(tally))
        counts = np.fromiter((tally[i] for i in idx.tolist()), dtype=np.float64, count=len(tally))
        vals = (1.0 + np.log(counts)) * self.idf[idx]
        return idx, vals * (weight / float(np.sqrt(vals @ vals)))

    def vector(
        self, words: list[str], chars: list[str], polarity: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the L2-normalized TF-IDF blocks; the blocks never share a term."""
        wi, wv = self._block(words, WORD_WEIGHT)
        ci, cv = self._block(chars, CHAR_WEIGHT)
        pi, pv = self._block(polarity or [], POLARITY_WEIGHT)
        return np.concatenate((wi, ci, pi)), np.concatenate((wv, cv, pv))

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
