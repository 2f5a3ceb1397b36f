"""やさしい日本語: the same answers in short sentences with readings for kanji (CONTRACTS §9).

A Japanese answer is rewritten, never re-authored: every fact stays the data's. Sentences go on
lines of their own, a long sentence is broken at its commas, and each word with kanji gets its
reading in hiragana after it, 区役所(くやくしょ), read from the Sudachi dictionary the NLU has
loaded anyway (nlu.text.readings: one dictionary in memory, not a second converter's ~100 MB).
URLs and numbers stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.engine.events import Card, Reply
from nlu.text import readings

_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff々]")
_URL = re.compile(r"https?://\S+")
LONG_SENTENCE = 30  # characters: a longer sentence is broken at its commas

# A resident asks for it, or for the ordinary Japanese back
EASY_REQUEST = re.compile(
    r"やさしい\s*(?:日本語|にほんご)|優しい日本語|易しい日本語|(?:にほんご|日本語)\s*(?:を)?\s*(?:かんたん|簡単)|"
    r"(?:かんたん|簡単)\s*な?\s*(?:にほんご|日本語)|ひらがな\s*で"
)
PLAIN_REQUEST = re.compile(r"(?:普通|ふつう)の\s*(?:日本語|にほんご)")


def with_readings(text: str) -> str:
    """`text` with a reading after every word that has kanji: 住民票(じゅうみんひょう)."""
    out: list[str] = []
    last = 0
    for m in _URL.finditer(text):
        out.append(_annotate(text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_annotate(text[last:]))
    return "".join(out)


# Counters the dictionary reads as words after a number: 1通 is いっつう, not ひととおり; 8時 はちじ
_COUNTER_READINGS = {"通": "つう", "時": "じ", "人": "にん", "歳": "さい", "枚": "まい", "分": "ふん"}
_COUNTER = re.compile(r"(\d)(" + "|".join(_COUNTER_READINGS) + r")\([\u3041-\u309f]+\)")


def _annotate(text: str) -> str:
    if not _KANJI.search(text):
        return text
    parts = []
    for orig, hira in readings(text):
        parts.append(f"{orig}({hira})" if _KANJI.search(orig) and hira and hira != orig else orig)
    return _COUNTER.sub(lambda m: f"{m.group(1)}{m.group(2)}({_COUNTER_READINGS[m.group(2)]})", "".join(parts))


def short_sentences(text: str) -> str:
    """One sentence a line; a long sentence broken after its commas."""
    lines = []
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[。！？])", line):
            sentence = sentence.strip()
            if not sentence:
                continue
            if len(sentence) > LONG_SENTENCE and "、" in sentence:
                lines += [p + ("、" if not p.endswith(("。", "！", "？")) else "") for p in _comma_parts(sentence)]
                lines[-1] = lines[-1].rstrip("、")
            else:
                lines.append(sentence)
    return "\n".join(lines)


def _comma_parts(sentence: str) -> list[str]:
    """`sentence` cut at its commas outside brackets (a list in （…） stays on one line)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(sentence):
        depth += ch in "（(「『【"
        depth -= ch in "）)」』】" and depth > 0
        if ch == "、" and depth == 0:
            parts.append(sentence[start:i])
            start = i + 1
    parts.append(sentence[start:])
    return [p for p in parts if p]


def easy(text: str) -> str:
    return "\n".join(with_readings(line) for line in short_sentences(text).splitlines())


def easy_reply(reply: Reply) -> Reply:
    """`reply` in やさしい日本語: text and card lines (titles of buttons are kept short as they are)."""
    card = reply.card
    if card is not None:
        card = Card(
            title=with_readings(card.title),
            lines=tuple(easy(x) for x in card.lines),
            buttons=card.buttons,
            kind=card.kind,
        )
    return replace(reply, text=easy(reply.text), card=card)
