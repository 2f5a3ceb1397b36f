"""Entity extraction: date, time, age, count, relation, with offsets into the original text."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from nlu.dates import Span, find_dates, find_times, select_spans
from nlu.numerals import parse_number
from nlu.text import Normalized, Token

EXTRACTOR = "MadoguchiRegexEntityExtractor"

_KANJI_NUM = r"[〇一二三四五六七八九十百]{1,4}"
AGE_PATTERN = _AGE = re.compile(r"(?<![\d.])(?:満)?([0-9]{1,3}|" + _KANJI_NUM + r")\s?(?:歳|才|さい)")
# 部・点・件・個・つ only with digits: 一部 (抄本 = 一部事項証明), 一件, 一つ目 are not counts.
# 人/名 count people (3人, 五名) but not 3人掛け, 一人暮らし, 2人目, 一人親, 一人っ子.
_NOT_PEOPLE = r"(?!掛|がけ|かけ|暮|ぐらし|乗|用|目|め|親|っ子|ひとり|一人|前|ずつ|当たり|あたり)"
_COUNT = re.compile(
    r"(?<![\d.])(?:([0-9]{1,3})\s?(?:(?:通|枚|部|冊|点|個|件|人分|脚|台|つ)(?!目)|(?:人|名)" + _NOT_PEOPLE + r")"
    r"|(?<![〇一二三四五六七八九十百千万])("
    + _KANJI_NUM
    + r")(?:(?:通|枚|冊|人分|台|脚)(?!目)|(?:人|名)"
    + _NOT_PEOPLE
    + r"))"
)
# Counts written in kana: さんにん, ふたり, にまい, いっつう, みっつ. After a particle (子どもはふたり)
# or at a word start only, so that they are not read inside other words.
_KANA_DIGITS = {
    "いち": 1,
    "いっ": 1,
    "に": 2,
    "さん": 3,
    "よん": 4,
    "よ": 4,
    "ご": 5,
    "ろく": 6,
    "なな": 7,
    "しち": 7,
    "はち": 8,
    "きゅう": 9,
    "じゅう": 10,
}
_KANA_WORDS = {
    "ひとり": 1,
    "ふたり": 2,
    "ひとつ": 1,
    "ふたつ": 2,
    "みっつ": 3,
    "よっつ": 4,
    "いつつ": 5,
    "むっつ": 6,
    "ななつ": 7,
    "やっつ": 8,
    "ここのつ": 9,
}
_KANA_COUNTERS = {
    "にん": ("さん", "よ", "ご", "ろく", "なな", "しち", "はち", "きゅう", "じゅう"),
    "めい": ("いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう", "じゅう"),
    "まい": ("いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう", "じゅう"),
    "つう": ("いっ", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう", "じゅっ"),
    "だい": ("いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう", "じゅう"),
}
_KANA_DIGITS["じゅっ"] = 10
_KANA_COUNT_VALUES = dict(_KANA_WORDS)
for _counter, _digits in _KANA_COUNTERS.items():
    for _digit in _digits:
        _KANA_COUNT_VALUES[_digit + _counter] = _KANA_DIGITS[_digit]
_KANA_COUNT = re.compile(
    r"(?:(?<![ぁ-ゖー])|(?<=[はがをでもとのに、]))("
    + "|".join(sorted(map(re.escape, _KANA_COUNT_VALUES), key=len, reverse=True))
    + r")(?![ぁ-ゖ]{0,1}(?:目|め|親|暮|ぐらし|っ子|ひとり|ずつ|きり))"
)

RELATIONS: dict[str, str] = {
    "本人": "self",
    "自分": "self",
    "私": "self",
    "わたし": "self",
    "自身": "self",
    "夫": "spouse",
    "妻": "spouse",
    "主人": "spouse",
    "旦那": "spouse",
    "旦那さん": "spouse",
    "だんな": "spouse",
    "嫁": "spouse",
    "奥さん": "spouse",
    "家内": "spouse",
    "配偶者": "spouse",
    "つま": "spouse",
    "おっと": "spouse",
    "息子": "child",
    "娘": "child",
    "子": "child",
    "子ども": "child",
    "子供": "child",
    "こども": "child",
    "長男": "child",
    "長女": "child",
    "次男": "child",
    "次女": "child",
    "三男": "child",
    "三女": "child",
    "赤ちゃん": "child",
    "赤ん坊": "child",
    "むすこ": "child",
    "むすめ": "child",
    "子供たち": "child",
    "父": "father",
    "父親": "father",
    "お父さん": "father",
    "親父": "father",
    "おやじ": "father",
    "おとうさん": "father",
    "パパ": "father",
    "義父": "father",
    "母": "mother",
    "母親": "mother",
    "お母さん": "mother",
    "おふくろ": "mother",
    "おかあさん": "mother",
    "ママ": "mother",
    "義母": "mother",
    "親": "parent",
    "両親": "parent",
    "親御さん": "parent",
    "おや": "parent",
    "祖父": "grandfather",
    "おじいちゃん": "grandfather",
    "おじいさん": "grandfather",
    "じいちゃん": "grandfather",
    "祖母": "grandmother",
    "おばあちゃん": "grandmother",
    "おばあさん": "grandmother",
    "ばあちゃん": "grandmother",
    "孫": "grandchild",
    "まご": "grandchild",
    "お孫さん": "grandchild",
    "兄": "sibling",
    "姉": "sibling",
    "弟": "sibling",
    "妹": "sibling",
    "兄弟": "sibling",
    "姉妹": "sibling",
    "きょうだい": "sibling",
    "お兄さん": "sibling",
    "お姉さん": "sibling",
    "兄貴": "sibling",
    "姉貴": "sibling",
}
_RELATION_RE = re.compile("|".join(sorted(map(re.escape, RELATIONS), key=len, reverse=True)))
# Short kana words must not be read inside other words (つまり, おやつ, まごころ …).
_KANA_GUARD = {"つま", "おっと", "おや", "まご", "わたし"}


def _numeric_spans(pattern: re.Pattern[str], text: str, lo: int, hi: int) -> list[Span]:
    out = []
    for m in pattern.finditer(text):
        raw = next(g for g in m.groups() if g) if pattern is _COUNT else m.group(1)
        value = parse_number(raw)
        if value is not None and lo <= value <= hi:
            out.append(Span(m.start(), m.end(), str(value)))
    return out


def find_counts(text: str) -> list[Span]:
    """Counts with a counter (3通, ２枚, 十通, 4脚, 5名, さんにん, ふたり), 1–999."""
    out = _numeric_spans(_COUNT, text, 1, 999)
    out += [Span(m.start(1), m.end(1), str(_KANA_COUNT_VALUES[m.group(1)])) for m in _KANA_COUNT.finditer(text)]
    return select_spans(out)


# 一時 meaning "temporary" (一時預かり, 一時保育, 一時的, 一時期, 一時金…), not 1 o'clock.
_TEMPORARY_AFTER = re.compile(r"預か|あずか|保育|的|期|金|停止|休止|休業|帰国|避難|払い|借|入院|保護|滞在")


def is_temporary_ichiji(text: str, span: Span) -> bool:
    """True for a time span that is the word 一時 ("temporary") rather than the hour 1時."""
    return text[span.start : span.end] == "一時" and _TEMPORARY_AFTER.match(text, span.end) is not None


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


@dataclass(frozen=True, slots=True)
class Values:
    """Date, time and count spans of a normalized text, found once per message and shared by the
    classifier's shape features and the entity extractor (both need them; scanning is not free)."""

    dates: list[Span]
    times: list[Span]
    counts: list[Span]


def scan_values(text: str, today: dt.date) -> Values:
    return Values(find_dates(text, today), find_times(text), find_counts(text))


def extract(
    norm: Normalized, tokens: list[Token], today: dt.date, values: Values | None = None
) -> list[dict[str, Any]]:
    """All entities of the normalized text, as Rasa entity dicts with original offsets.
    `values`: the scan of `norm.text` for `today`, when the caller already has it."""
    text = norm.text
    if not text:
        return []
    values = values or scan_values(text, today)
    found: list[tuple[str, Span]] = [("date", s) for s in values.dates]
    found += [("time", s) for s in values.times if not is_temporary_ichiji(text, s)]
    taken = select_spans([s for _, s in found])
    for name, spans in (
        ("age", _numeric_spans(_AGE, text, 0, 130)),
        ("count", values.counts),
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
