"""一時 in 一時預かり / 一時保育 / 一時的 / 一時期 / 一時金 is "temporary", not the hour 1時 (M9)."""

from __future__ import annotations

import datetime as dt

import pytest

from nlu.dates import Span
from nlu.entities import extract, is_temporary_ichiji
from nlu.text import normalize_with_offsets, tokenize

TODAY = dt.date(2026, 11, 27)


def times(text: str) -> list[str]:
    norm = normalize_with_offsets(text)
    return [e["value"] for e in extract(norm, tokenize(norm.text), TODAY) if e["entity"] == "time"]


@pytest.mark.parametrize(
    "text",
    [
        "来週の火曜日に息子を一時預かりに預けたいです",
        "一時保育を利用したい",
        "一時的に預けたい",
        "一時期住んでいました",
        "出産の一時金はいくら？",
        "一時あずかりの予約",
    ],
)
def test_temporary_ichiji_is_not_a_time(text: str) -> None:
    assert times(text) == []


@pytest.mark.parametrize(
    ("text", "value"), [("一時に行きます", "01:00"), ("午後一時から", "13:00"), ("1時預かり", "01:00")]
)
def test_real_hours_stay(text: str, value: str) -> None:
    assert times(text) == [value]


def test_rule_only_for_the_word() -> None:
    assert is_temporary_ichiji("一時預かり", Span(0, 2, "01:00"))
    assert not is_temporary_ichiji("一時に", Span(0, 2, "01:00"))
