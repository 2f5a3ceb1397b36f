"""English understanding (CONTRACTS §9, issue 15 item 4): the language detector, the English model
on a held-out set written apart from its training data (tests/nlu/en_heldout.tsv), English
entities, and the Japanese model untouched by the English data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from nlu.engine import NLUEngine
from nlu.english import EN_DATA_DIR
from nlu.language import detect_language
from nlu.trainingdata import DEFAULT_DATA_DIR, load_examples

HELDOUT = Path(__file__).with_name("en_heldout.tsv")
TODAY = dt.date(2026, 12, 4)  # a Friday
RIGHT_FOR_OOS = {"out_of_scope", "nlu_fallback"}


def _heldout() -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("住民票がほしい", "ja"),
        ("粗大ごみの申し込み", "ja"),
        ("じゅうみんひょう ほしい です", "easy_ja"),
        ("I need a residence certificate", "en"),
        ("thanks", "en"),
        ("Bonjour, je voudrais un certificat de résidence", "other"),
        ("Necesito un certificado de residencia por favor", "other"),
        ("안녕하세요", "other"),
        ("3", None),
    ],
)
def test_detect_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


def test_heldout_is_apart_from_training() -> None:
    training = {e.text.lower() for e in load_examples(EN_DATA_DIR)}
    rows = _heldout()
    assert len(rows) >= 100
    assert not [t for _, t in rows if t.lower() in training]


def test_every_contract_intent_has_fifteen_english_examples() -> None:
    counts = Counter(e.intent for e in load_examples(EN_DATA_DIR))
    contract = {"juminhyo", "waste_sorting", "request_human", "out_of_scope", "dv_abuse", "greet", "cancel"}
    assert contract <= set(counts)
    assert min(counts.values()) >= 15


def test_japanese_model_never_reads_the_english_data() -> None:
    # the Japanese data had a few English words before (hello, thanks, ok): no more than those
    english = {e.text for e in load_examples(EN_DATA_DIR)}
    assert len(english & {e.text for e in load_examples(DEFAULT_DATA_DIR)}) <= 12
    assert all(e.source != "en" and "/" not in e.source for e in load_examples(DEFAULT_DATA_DIR))


def test_english_heldout_accuracy(engine: NLUEngine) -> None:
    rows = _heldout()
    right = 0
    for intent, text in rows:
        got = engine.parse(text, TODAY)
        assert got["language"] == "en", text
        name = got["intent"]["name"]
        right += name == intent or (intent == "out_of_scope" and name in RIGHT_FOR_OOS)
    assert right / len(rows) >= 0.85


def test_english_parse_answers_the_english_intent(engine: NLUEngine) -> None:
    got = engine.parse("Can I talk to someone who speaks English?", TODAY)
    assert got["intent"]["name"] == "request_human"
    got = engine.parse("I need a residence certificate", TODAY)
    assert got["intent"]["name"] == "juminhyo"


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("temporary childcare tomorrow", "date", "2026-12-05"),
        ("next Tuesday please", "date", "2026-12-08"),
        ("on Dec 20", "date", "2026-12-20"),
        ("at 3pm", "time", "15:00"),
        ("10:30 am is fine", "time", "10:30"),
        ("two copies please", "count", 2),
        ("my son is 2 years old", "age", 2),
        ("for my husband", "relation", "spouse"),
    ],
)
def test_english_entities(engine: NLUEngine, text: str, entity: str, value: object) -> None:
    got = engine.parse(text, TODAY)
    assert value in [e["value"] for e in got["entities"] if e["entity"] == entity]


def test_other_language_is_not_guessed(engine: NLUEngine) -> None:
    got = engine.parse("Bonjour, je voudrais un certificat de résidence", TODAY)
    assert got["language"] == "other"
    assert got["intent"]["name"] == "nlu_fallback"
