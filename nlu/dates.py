"""Date and time expressions in normalized Japanese text → ISO date / HH:MM.

All patterns run on `normalize()`d text (NFKC, lower case), so full-width digits are already ASCII.
Conventions (documented in the README of the NLU):
- 和暦 first years use plain year arithmetic (令和元年1月1日 → 2019-01-01), as the IMI specs do.
- A month-day without a year (12月5日, 12/20) resolves to the occurrence that falls in the window
  [today − 90 days, today + 275 days): residents ask about upcoming dates, but also report recent
  ones ("11月20日に引っ越しました"), so a date up to 90 days back stays in the past.
- A day of the month alone (8日, じゃあ15日) is the next such day: this month if not past, else
  the next month that has it. Durations and limits (3日かかります, 14日以内, 7日間) are not dates.
- A bare weekday (火曜日) is the next such day on or after today; 今週/来週/再来週/先週 use
  Monday-based weeks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from nlu.numerals import parse_number

Day = dt.date
_ERA_BASE = {
    "令和": 2018,
    "令": 2018,
    "r": 2018,
    "平成": 1988,
    "平": 1988,
    "h": 1988,
    "昭和": 1925,
    "昭": 1925,
    "s": 1925,
    "大正": 1911,
    "大": 1911,
    "t": 1911,
    "明治": 1867,
    "明": 1867,
    "m": 1867,
}
_WEEKDAYS = "月火水木金土日"
_PAST_WINDOW = dt.timedelta(days=90)

_N = r"([0-9]{1,4}|[〇零一二三四五六七八九十百千]{1,6})"
_MD = r"([0-9]{1,2}|[〇一二三四五六七八九十]{1,3})"
_ERA = r"(令和|平成|昭和|大正|明治|(?<![a-z])[rhstm]|令|平|昭|大|明)"
_YEAR = r"(?:年|ねん)"
_MONTH = r"(?:月|がつ)"
_DAY = r"(?:日|にち)"
_SEP = r"[-/.]"


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    value: str


def _safe_date(year: int | None, month: int | None, day: int | None) -> Day | None:
    if year is None or month is None or day is None:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _era_date(m: re.Match[str], _today: Day) -> Day | None:
    year = parse_number(m.group(2))
    if year is None or year < 1:
        return None
    return _safe_date(_ERA_BASE[m.group(1)] + year, parse_number(m.group(3)), parse_number(m.group(4)))


def _western_date(m: re.Match[str], _today: Day) -> Day | None:
    year = parse_number(m.group(1))
    if year is None or not 1868 <= year <= 2200:
        return None
    return _safe_date(year, parse_number(m.group(2)), parse_number(m.group(3)))


def _compact_date(m: re.Match[str], today: Day) -> Day | None:
    s = m.group(1)
    return _western_date(re.match(r"(\d{4})(\d{2})(\d{2})", s), today)  # type: ignore[arg-type]


def _month_day(m: re.Match[str], today: Day) -> Day | None:
    month, day = parse_number(m.group(1)), parse_number(m.group(2))
    for year in (today.year - 1, today.year, today.year + 1):
        d = _safe_date(year, month, day)
        if d is not None and today - _PAST_WINDOW <= d < today - _PAST_WINDOW + dt.timedelta(days=365):
            return d
    return None


def _add_months(today: Day, months: int) -> tuple[int, int]:
    idx = today.year * 12 + today.month - 1 + months
    return idx // 12, idx % 12 + 1


def _relative_month_day(m: re.Match[str], today: Day) -> Day | None:
    offset = {"今月": 0, "来月": 1, "再来月": 2, "先月": -1}[m.group(1)]
    year, month = _add_months(today, offset)
    return _safe_date(year, month, parse_number(m.group(2)))


def _weekday(m: re.Match[str], today: Day) -> Day | None:
    week, wd = m.group(1), _WEEKDAYS.index(m.group(2))
    if not week or week in ("今度", "次", "次回"):
        return today + dt.timedelta(days=(wd - today.weekday()) % 7)
    offset = {"今週": 0, "来週": 7, "再来週": 14, "先週": -7}[week]
    return today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=offset + wd)


_DAY_WORDS = {
    "今日": 0,
    "本日": 0,
    "きょう": 0,
    "明日": 1,
    "あした": 1,
    "明後日": 2,
    "あさって": 2,
    "明々後日": 3,
    "明明後日": 3,
    "しあさって": 3,
    "昨日": -1,
    "きのう": -1,
    "一昨日": -2,
    "おととい": -2,
}


def _day_word(m: re.Match[str], today: Day) -> Day | None:
    return today + dt.timedelta(days=_DAY_WORDS[m.group(1)])


def _relative_offset(m: re.Match[str], today: Day) -> Day | None:
    n = parse_number(m.group(1))
    if n is None or n > 3660:
        return None
    unit, sign = m.group(2), (1 if m.group(3) == "後" else -1)
    if unit in ("日", "にち"):
        return today + dt.timedelta(days=sign * n)
    if unit.startswith("週"):
        return today + dt.timedelta(weeks=sign * n)
    months = n * 12 if unit == "年" else n
    year, month = _add_months(today, sign * months)
    for day in range(today.day, 27, -1):  # clamp 1月31日 + 1か月 to the month's last day
        d = _safe_date(year, month, day)
        if d:
            return d
    return _safe_date(year, month, today.day)


Handler = Callable[[re.Match[str], Day], Day | None]
_DATE_RULES: list[tuple[re.Pattern[str], Handler]] = [
    (re.compile(_ERA + r"(元|" + _N[1:-1] + ")" + _YEAR + _MD + _MONTH + _MD + _DAY + "?"), _era_date),
    (re.compile(_ERA + r"(元|\d{1,2})" + _SEP + r"(\d{1,2})" + _SEP + r"(\d{1,2})(?!\d)"), _era_date),
    (re.compile(_N + _YEAR + _MD + _MONTH + _MD + _DAY + "?"), _western_date),
    (re.compile(r"(?<![\d.])(\d{4})" + _SEP + r"(\d{1,2})" + _SEP + r"(\d{1,2})(?![\d])"), _western_date),
    (re.compile(r"(?<![\d-])(\d{8})(?![\d-])"), _compact_date),
    (re.compile(r"(?<![\d/年])" + _MD + _MONTH + _MD + _DAY), _month_day),
    (re.compile(r"(?<![\d/.:-])(\d{1,2})/(\d{1,2})(?![\d/])"), _month_day),
    (re.compile(r"(再来月|来月|今月|先月)の?" + _MD + _DAY), _relative_month_day),
    (re.compile(r"(?:(再来週|来週|今週|先週|今度|次回|次)の?)?([月火水木金土日])曜日?"), _weekday),
    (
        re.compile(
            r"(明々後日|明明後日|しあさって|明後日|あさって|一昨日|おととい|今日|本日|明日|昨日|あした"
            r"|(?<![ぁ-ん])きょう(?!だい|う)|(?<![ぁ-ん])きのう)"
        ),
        _day_word,
    ),
    (re.compile(_N + r"(日|にち|週間|週|か月|ヶ月|カ月|ケ月|ヵ月|ヵ月|年)(後|前)"), _relative_offset),
]


# -- a day of the month alone, katakana day words ------------------------------------------
# "7日で", "じゃあ8日", "15日にします": the next such day — this month if it is not past, else
# the next month that has it. Durations and limits ("3日かかります", "14日以内", "7日間",
# "1日2回", "3日後") are not dates.
_DAY_ALONE = re.compile(
    r"(?<![0-9/年月.:〇零一二三四五六七八九十百千-])" + _MD + r"(?:日|にち)"
    r"(?!間|以内|以上|以下|未満|程度|分|ほど|くらい|ぐらい|前|後|目|経|中|おき|ごと|毎|曜"
    r"|に?[0-9〇一二三四五六七八九十]+回|かか|掛か|で(?:届|でき|終|おわ|完了|発行|処理|着))"
)


def _day_of_month(m: re.Match[str], today: Day) -> Day | None:
    day = parse_number(m.group(1))
    if day is None or not 1 <= day <= 31:
        return None
    for months in range(0, 3):
        year, month = _add_months(today, months)
        d = _safe_date(year, month, day)
        if d is not None and d >= today:
            return d
    return None


# Katakana day words, as typed in half-width (ｱｼﾀ → アシタ after NFKC) or full-width katakana.
_KATAKANA_DAY_WORDS = {
    "キョウ": "きょう",
    "アシタ": "あした",
    "アス": "明日",
    "アサッテ": "あさって",
    "シアサッテ": "しあさって",
    "キノウ": "きのう",
    "オトトイ": "おととい",
}
_KATAKANA_DAY = re.compile(
    r"(?<![ァ-ヶー])(" + "|".join(sorted(_KATAKANA_DAY_WORDS, key=len, reverse=True)) + r")(?![ァ-ヶー])"
)


def _katakana_day_word(m: re.Match[str], today: Day) -> Day | None:
    return today + dt.timedelta(days=_DAY_WORDS[_KATAKANA_DAY_WORDS[m.group(1)]])


_DATE_RULES += [(_DAY_ALONE, _day_of_month), (_KATAKANA_DAY, _katakana_day_word)]


def _weekday_prefix_ok(m: re.Match[str]) -> bool:
    # "月曜" must not be the tail of a month expression like "12月曜日" (never written) or 年月日.
    return m.group(1) is not None or not (m.start() > 0 and m.string[m.start() - 1].isdigit())


# "今日は" written for こんにちは: the whole message, or followed by ! / 。 (a sentence of its own).
# "今日は行けますか" and "今日は、開いてますか" keep their date.
_KONNICHIWA = re.compile(r"今日は(?:[!。♪ー〜~]+|$)")


def find_dates(text: str, today: Day) -> list[Span]:
    """Every date expression in normalized `text`, non-overlapping, longest match first."""
    cands: list[Span] = []
    for pattern, handler in _DATE_RULES:
        for m in pattern.finditer(text):
            if handler is _weekday and not _weekday_prefix_ok(m):
                continue
            if handler is _day_word and m.start() == 0 and _KONNICHIWA.match(text):
                continue
            value = handler(m, today)
            if value is not None:
                cands.append(Span(m.start(), m.end(), value.isoformat()))
    return select_spans(cands)


def select_spans(cands: list[Span]) -> list[Span]:
    """Keep the longest non-overlapping spans (ties: earliest), sorted by position."""
    chosen: list[Span] = []
    for c in sorted(cands, key=lambda s: (-(s.end - s.start), s.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda s: s.start)


_TIME_PREFIX = r"(午前|午後|朝の?|夜の?|夕方の?|夜中の?|深夜の?|昼の?|am|pm|a\.m\.|p\.m\.)?\s?"
_HM = r"([0-9]{1,2}|[〇一二三四五六七八九十]{1,3})"
_TIME_RULES = [
    re.compile(_TIME_PREFIX + r"(?<![\d:])" + _HM + r"時(?!間)(半|" + _HM + r"分)?"),
    re.compile(_TIME_PREFIX + r"(?<![\d:/])([0-9]{1,2}):([0-9]{2})(?![\d:])"),
]
_PM = ("午後", "夜", "夕方", "pm", "p.m.")


def _to_24h(prefix: str, hour: int) -> int:
    prefix = prefix.rstrip("の")
    if prefix in _PM and hour < 12:
        return hour + 12
    if prefix in ("午前", "am", "a.m.", "夜中", "深夜") and hour == 12:
        return 0
    return hour


def _time_value(m: re.Match[str], colon: bool) -> str | None:
    prefix, hour = m.group(1) or "", parse_number(m.group(2))
    if colon:
        minute = parse_number(m.group(3))
    else:
        minute = 30 if m.group(3) == "半" else parse_number(m.group(4)) if m.group(4) else 0
    if hour is None or minute is None or hour > 24 or minute > 59:
        return None
    hour = _to_24h(prefix, hour) % 24
    return f"{hour:02d}:{minute:02d}"


def find_times(text: str) -> list[Span]:
    """Clock times (午後3時, 10時半, 9:30, 正午) in normalized `text` as HH:MM."""
    cands = [Span(m.start(), m.end(), "12:00") for m in re.finditer("正午", text)]
    for i, pattern in enumerate(_TIME_RULES):
        for m in pattern.finditer(text):
            value = _time_value(m, colon=i == 1)
            if value:
                start = m.start(1) if m.group(1) else m.start(2)
                cands.append(Span(start, m.end(), value))
    return select_spans(cands)


def iter_all(text: str, today: Day) -> Iterator[tuple[str, Span]]:
    for span in find_dates(text, today):
        yield "date", span
    for span in find_times(text):
        yield "time", span
