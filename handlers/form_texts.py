"""The booking forms' words in the conversation's language (CONTRACTS §9).

Each form is defined once (its slots, extractors, validators and booking in handlers/childcare.py,
bulky_waste.py, facilities.py, care.py). Its words are looked up here by key: the Japanese text is
the definition's own (the default, written beside the key), the English one comes from the
message catalog knowledge/data/forms_en.yml, and English names of what services.yml offers
(facilities, rooms, items, towns, notes) from services_en.yml. Facts (fees, dates, times, places,
phone numbers) are always the caller's values from services.yml, put into either text.

    tr(ctx, "childcare_temporary.texts.all_full", "{day}はどの施設も定員に達しています。", day=day_text(ctx, d))
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from bot.engine.turn import TurnContext
from knowledge.english import EnglishTexts
from knowledge.services_data import format_date

WEEKDAY_EN = dict(zip("月火水木金土日", ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
MONTH_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LOADED: list[EnglishTexts] = []


def english(ctx: TurnContext) -> bool:
    return getattr(ctx.state, "language", "ja") == "en"


def texts_of(ctx: TurnContext) -> EnglishTexts:
    loaded = ctx.services.knowledge.get("english")
    if isinstance(loaded, EnglishTexts):
        return loaded
    if not _LOADED:
        _LOADED.append(EnglishTexts.load(ctx.services.settings.data_dir))
    return _LOADED[0]


def tr(ctx: TurnContext, key: str, ja: str, **values: Any) -> str:
    """The text at `key` in the conversation's language; `ja` (the form's own words) otherwise."""
    if english(ctx):
        en = texts_of(ctx).form_text(key)
        if isinstance(en, str):
            return en.format(**values) if values else en
    return ja.format(**values) if values else ja


def en_list(ctx: TurnContext, key: str) -> list[str]:
    value = texts_of(ctx).form_text(key) if english(ctx) else None
    return [str(v) for v in value] if isinstance(value, list) else []


def name(ctx: TurnContext, key: str, ja: str, **facts: Any) -> str:
    """The English name or note of a services.yml entry (its first word when a list), else `ja`;
    `facts` (a phone number…) fill the English text's {placeholders}, read from services.yml."""
    if not english(ctx):
        return ja
    value = texts_of(ctx).service_name(key)
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, str) or not value:
        return ja
    return value.format(**facts) if facts else value


def day_text(ctx: TurnContext, day: date) -> str:
    """12月1日（火） / Tue, Dec 1."""
    if english(ctx):
        weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[day.weekday()]
        return f"{weekday}, {MONTH_EN[day.month - 1]} {day.day}"
    return format_date(day)


def yen_text(ctx: TurnContext, amount: int) -> str:
    return f"{amount:,} yen" if english(ctx) else f"{amount:,}円"


def joined(ctx: TurnContext, parts: Iterable[str], ja_sep: str = "、") -> str:
    return ", ".join(parts) if english(ctx) else ja_sep.join(parts)


def weekdays_text(ctx: TurnContext, days: Iterable[str]) -> str:
    """["土", "日"] -> 土・日曜日 / Sat, Sun."""
    days = list(days)
    return ", ".join(WEEKDAY_EN.get(d, d) for d in days) if english(ctx) else "・".join(days) + "曜日"


def span_text(ctx: TurnContext, start: str, end: str) -> str:
    return f"{start}-{end}" if english(ctx) else f"{start}〜{end}"


def en_services(ctx: TurnContext, key: str) -> list[str]:
    """A list of services_en.yml (e.g. what to bring), in English conversations only."""
    value = texts_of(ctx).service_name(key) if english(ctx) else None
    return [str(v) for v in value] if isinstance(value, list) else []
