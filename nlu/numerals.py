"""Japanese numerals: Arabic digits (after NFKC), kanji numerals (十二, 二〇一九) and 元 (first year)."""

from __future__ import annotations

KANJI_DIGITS = "〇零一二三四五六七八九"
_DIGIT_VALUE = {"〇": 0, "零": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000}

# A regex fragment matching one number (digits or kanji numerals), for use inside patterns.
NUM = r"(?:[0-9]+|[〇零一二三四五六七八九十百千万]+)"


def parse_number(text: str) -> int | None:
    """Return the integer value of `text` ("12", "十二", "二〇一九", "元"), or None."""
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    if text == "元":
        return 1
    if all(ch in _DIGIT_VALUE for ch in text):
        # positional: 二〇一九 -> 2019
        return int("".join(str(_DIGIT_VALUE[ch]) for ch in text))
    return _parse_kanji(text)


def _parse_kanji(text: str) -> int | None:
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGIT_VALUE:
            if digit is not None:
                return None  # two digits in a row without a unit (e.g. 十二三) is ambiguous
            digit = _DIGIT_VALUE[ch]
        elif ch in _UNITS:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
        elif ch in _BIG_UNITS:
            section += digit or 0
            total += (section or 1) * _BIG_UNITS[ch]
            section, digit = 0, None
        else:
            return None
    return total + section + (digit or 0)
