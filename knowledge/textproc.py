"""Retrieval-side text analysis on top of ``nlu.text`` (normalize + Sudachi tokens).

Two views of a text: content words (Sudachi normalized forms, function words and generic
verbs dropped) and character n-grams of the normalized text (robust to compounds and 表記ゆれ).
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from nlu.text import dictionary, normalize, tokenize

_CONTENT_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞", "接頭辞", "接尾辞", "連体詞", "代名詞"}
# Generic words that appear in almost every question and carry no topic.
STOPWORDS = frozenset(
    [
        "為る",
        "有る",
        "居る",
        "成る",
        "出来る",
        "思う",
        "言う",
        "知る",
        "教える",
        "良い",
        "好い",
        "下さる",
        "頂く",
        "致す",
        "御",
        "事",
        "物",
        "方",
        "所",
        "時",
        "為",
        "何",
        "どう",
        "何処",
        "誰",
        "此れ",
        "其れ",
        "彼れ",
        "此の",
        "其の",
        "此処",
        "其処",
        "いい",
        "欲しい",
        "貰う",
        "呉れる",
        "行く",
        "来る",
        "見る",
        "分かる",
        "有り難い",
        "よう",
        "様",
        "ところ",
        "場合",
        "際",
        "等",
        "など",
        "的",
        "ため",
        "について",
        "付く",
        "就く",
        "関する",
        "対する",
        "下さい",
        "何か",
        "如何",
        "できる",
        "今",
        "今回",
    ]
)
_PUNCT = re.compile(r"[\s、。，．・「」『』【】（）()\[\]〔〕<>＜＞!?！？:：;；\"'“”‘’■□●○◆◇※＊*/／…~〜\-―‐]+")


def prepare(text: str) -> str:
    """``nlu.text.normalize`` plus retrieval-only cleanup (prefix labels such as "Question:")."""
    return normalize(text)


@lru_cache(maxsize=4096)
def content_words(text: str) -> tuple[str, ...]:
    """Sudachi normalized forms of the content words of ``text`` (already prepared or not)."""
    out: list[str] = []
    for tok in tokenize(prepare(text)):
        if tok.pos not in _CONTENT_POS:
            continue
        form = tok.normalized
        if form in STOPWORDS or _PUNCT.fullmatch(form):
            continue
        out.append(form)
    return tuple(out)


def char_ngrams(text: str, n: int = 2) -> list[str]:
    """Character n-grams of each punctuation-free run of the prepared text."""
    grams: list[str] = []
    for run in _PUNCT.split(prepare(text)):
        if len(run) < n:
            if run and n == 2:
                grams.append(run)
            continue
        grams.extend(run[i : i + n] for i in range(len(run) - n + 1))
    return grams


def to_hiragana(text: str) -> str:
    """Katakana → hiragana (ー and other characters unchanged)."""
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in text)


def fold_kana(text: str) -> str:
    """A lenient key for fuzzy item matching: NFKC, hiragana, no long vowels, small kana enlarged."""
    return unicodedata.normalize("NFKC", text).lower().translate(_FOLD)


# katakana → hiragana, small kana enlarged, long vowel marks and hyphens dropped: one table
_FOLD = {
    **{code: code - 0x60 for code in range(ord("ァ"), ord("ヶ") + 1)},
    **str.maketrans("ぁぃぅぇぉっゃゅょゎ", "あいうえおつやゆよわ"),
    **str.maketrans("ァィゥェォッャュョヮ", "あいうえおつやゆよわ"),
    ord("ー"): None,
    ord("-"): None,
}


_local = threading.local()


def _split_tokenizer():  # type: ignore[no-untyped-def]
    """A short-unit (mode A) Sudachi tokenizer, one per thread (they are not thread-safe)."""
    tok = getattr(_local, "tok", None)
    if tok is None:
        from sudachipy import SplitMode

        dic = dictionary()  # the NLU's own: a second instance would map the ~200 MB file again
        make = getattr(dic, "tokenizer", None)  # sudachipy >= 0.7; create() before
        tok = make(mode=SplitMode.A) if make else dic.create(SplitMode.A)
        _local.tok = tok
    return tok


@lru_cache(maxsize=4096)
def sub_words(text: str) -> tuple[str, ...]:
    """Content words in Sudachi's short-unit mode (A): 児童手当 → 児童, 手当."""
    out: list[str] = []
    for m in _split_tokenizer().tokenize(prepare(text)):
        form = m.normalized_form()
        if m.part_of_speech()[0] in _CONTENT_POS and form not in STOPWORDS and not _PUNCT.fullmatch(form):
            out.append(form)
    return tuple(out)


@lru_cache(maxsize=8192)
def reading(text: str) -> str:
    """Sudachi reading (katakana) of ``text``: 炊飯器 → スイハンキ; kana stays as written."""
    return "".join(m.reading_form() or m.surface() for m in _split_tokenizer().tokenize(prepare(text)))


# ---------------------------------------------------------------- synonyms (query expansion)

SYNONYMS_FILE = Path(__file__).resolve().parent / "data" / "synonyms.yml"


@dataclass(frozen=True)
class SynonymTable:
    """Groups of interchangeable words (knowledge/data/synonyms.yml) for query expansion.

    Members are matched on the kana-folded prepared text (members of two or more characters, as
    substrings) or on the query's short-unit words (one-character members such as 犬 or 子).
    """

    groups: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]  # per group: (folded member, words)
    digest: str = ""

    @classmethod
    def load(cls, path: Path = SYNONYMS_FILE) -> SynonymTable:
        if not Path(path).exists():
            return cls((), "")
        raw = Path(path).read_bytes()
        data = yaml.safe_load(raw.decode("utf-8")) or {}
        groups = []
        for group in data.get("groups") or []:
            members = tuple((to_hiragana(prepare(str(m))), sub_words(str(m))) for m in group if str(m).strip())
            if len(members) > 1:
                groups.append(members)
        return cls(tuple(groups), hashlib.sha256(raw).hexdigest()[:16])

    def expand(self, text: str, words: Sequence[str]) -> dict[str, float]:
        """Words of the groups that ``text`` mentions, minus ``words`` already in it (weight 1.0)."""
        folded = to_hiragana(prepare(text))
        folded_words = {to_hiragana(w) for w in words}
        own = set(words)
        extra: dict[str, float] = {}
        for group in self.groups:
            if any((len(m) >= 2 and m in folded) or m in folded_words for m, _ in group):
                for _, terms in group:
                    extra.update((t, 1.0) for t in terms if t not in own)
        return extra


@lru_cache(maxsize=1)
def synonyms() -> SynonymTable:
    """The bundled synonym table (loaded once)."""
    return SynonymTable.load()
