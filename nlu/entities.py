"""Entity extraction: date, time, age, count, relation, with offsets into the original text."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from nlu.dates import Span, find_dates, find_times, select_spans
from nlu.numerals import parse_number
from nlu.text import Normalized, Token

EXTRACTOR = "MadoguchiRegexEntityExtractor"

_KANJI_NUM = r"[〇一二三四五六七八九十百]{1,4}"
_AGE = re.compile(r"(?<![\d.])(?:満)?([0-9]{1,3}|" + _KANJI_NUM + r")\s?(?:歳|才|さい)")
# 部・点・件・個 only with digits: 一部 (抄本 = 一部事項証明) and 一件 are not counts.
_COUNT = re.compile(
    r"(?<![\d.])(?:([0-9]{1,3})\s?(通|枚|部|冊|点|個|件|人分)|(" + _KANJI_NUM + r")(通|枚|冊|人分))"
)

RELATIONS: dict[str, str] = {
    "本人": "self", "自分": "self", "私": "self", "わたし": "self", "自身": "self",
    "夫": "spouse", "妻": "spouse", "主人": "spouse", "旦那": "spouse", "旦那さん": "spouse",
    "だんな": "spouse", "嫁": "spouse", "奥さん": "spouse", "家内": "spouse", "配偶者": "spouse",
    "つま": "spouse", "おっと": "spouse",
    "息子": "child", "娘": "child", "子": "child", "子ども": "child", "子供": "child", "こども": "child",
    "長男": "child", "長女": "child", "次男": "child", "次女": "child", "三男": "child", "三女": "child",
    "赤ちゃん": "child", "赤ん坊": "child", "むすこ": "child", "むすめ": "child", "子供たち": "child",
    "父": "father", "父親": "father", "お父さん": "father", "親父": "father", "おやじ": "father",
    "おとうさん": "father", "パパ": "father", "義父": "father",
    "母": "mother", "母親": "mother", "お母さん": "mother", "おふくろ": "mother", "おかあさん": "mother",
    "ママ": "mother", "義母": "mother",
    "親": "parent", "両親": "parent", "親御さん": "parent", "おや": "parent",
    "祖父": "grandfather", "おじいちゃん": "grandfather", "おじいさん": "grandfather", "じいちゃん": "grandfather",
    "祖母": "grandmother", "おばあちゃん": "grandmother", "おばあさん": "grandmother", "ばあちゃん": "grandmother",
    "孫": "grandchild", "まご": "grandchild", "お孫さん": "grandchild",
    "兄": "sibling", "姉": "sibling", "弟": "sibling", "妹": "sibling", "兄弟": "sibling", "姉妹": "sibling",
    "きょうだい": "sibling", "お兄さん": "sibling", "お姉さん": "sibling", "兄貴": "sibling", "姉貴": "sibling",
}
_RELATION_RE = re.compile("|".join(sorted(map(re.escape, RELATIONS), key=len, reverse=True)))
# Short kana words must not be read inside other words (つまり, おやつ, まごころ …).
_KANA_GUARD = {"つま", "おっと", "おや", "まご", "わたし"}


def _numeric_spans(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> list[Span]:
    out = []
    for m in pattern.finditer(text):
        raw = next(g for g in m.groups()[::2] if g) if pattern is _COUNT else m.group(1)
        value = parse_number(raw)
        if value is not None and lo <= value <= hi:
            out.append(Span(m.start(), m.end(), str(value)))
    return out


def _boundaries(tokens: list[Token]) -> tuple[set[int], set[int]]:
    return {t.begin for t in tokens}, {t.end for t in tokens}


def find_relations(text: str, tokens: list[Token]) -> list[Span]:
    """Kinship words that stand as whole words (not 母子 in 母子健康手帳, not 親子, not 子育て)."""
    begins, ends = _boundaries(tokens)
    out = []
    for m in _RELATION_RE.finditer(text):
        word = m.group(0)
        if m.start() not in begins or m.end() not in ends:
            continue
        if word in _KANA_GUARD and any(t.begin == m.start() and t.end != m.end() for t in tokens):
            continue
        out.append(Span(m.start(), m.end(), RELATIONS[word]))
    return out


def extract(norm: Normalized, tokens: list[Token], today: dt.date) -> list[dict[str, Any]]:
    """All entities of the normalized text, as Rasa entity dicts with original offsets."""
    text = norm.text
    if not text:
        return []
    found: list[tuple[str, Span]] = [("date", s) for s in find_dates(text, today)]
    found += [("time", s) for s in find_times(text)]
    taken = select_spans([s for _, s in found])
    for name, spans in (
        ("age", _numeric_spans(_AGE, text, 0, 130)),
        ("count", _numeric_spans(_COUNT, text, 1, 999)),
        ("relation", find_relations(text, tokens)),
    ):
        for s in spans:
            if all(s.end <= o.start or s.start >= o.end for o in taken):
                found.append((name, s))
                taken.append(s)
    found = [(n, s) for n, s in found if s in taken]
    return [_entity(name, span, norm) for name, span in sorted(found, key=lambda x: x[1].start)]


def _entity(name: str, span: Span, norm: Normalized) -> dict[str, Any]:
    start, end = norm.span(span.start, span.end)
    value: Any = int(span.value) if name in ("age", "count") else span.value
    return {"entity": name, "value": value, "start": start, "end": end, "extractor": EXTRACTOR}
