"""Intents of realistic held-out messages (tests/nlu/nlu_heldout.py, never in nlu/data)."""

from __future__ import annotations

import pytest
from nlu_heldout import HELD_OUT, OUT_OF_SCOPE_OK

from nlu.engine import NLUEngine
from nlu.trainingdata import load_examples

INVENTORY = {
    "juminhyo",
    "koseki",
    "inkan",
    "tax_certificate",
    "moving_in",
    "moving_out",
    "moving_within",
    "mynumber_card",
    "childcare_temporary",
    "nursery_admission",
    "child_allowance",
    "child_medical",
    "pregnancy",
    "birth",
    "death",
    "care_consultation",
    "care_certification",
    "health_insurance",
    "pension",
    "bulky_waste",
    "waste_sorting",
    "resident_tax",
    "health_checkup",
    "disaster",
    "facility_booking",
    "livelihood_support",
    "dv_abuse",
    "greet",
    "goodbye",
    "thanks",
    "affirm",
    "deny",
    "request_human",
    "cancel",
    "bot_capabilities",
    "out_of_scope",
}


def test_every_intent_has_30_examples() -> None:
    counts: dict[str, int] = {}
    for ex in load_examples():
        counts[ex.intent] = counts.get(ex.intent, 0) + 1
    assert set(counts) >= INVENTORY  # more intents may be added (CONTRACTS §2)
    assert min(counts.values()) >= 30


def test_held_out_not_in_training_data() -> None:
    training = {ex.text for ex in load_examples()}
    assert not [t for t, _ in HELD_OUT if t in training]


def _right(expected: str, got: str) -> bool:
    return got == expected or (expected == "out_of_scope" and got in OUT_OF_SCOPE_OK)


def test_held_out_accuracy(engine: NLUEngine) -> None:
    misses = [(t, i, engine.parse(t)["intent"]["name"]) for t, i in HELD_OUT]
    misses = [m for m in misses if not _right(m[1], m[2])]
    assert len(misses) <= len(HELD_OUT) * 0.1, misses


@pytest.mark.parametrize(
    "text",
    [t for t, i in HELD_OUT if i == "dv_abuse"]
    + [
        "夫から暴力を受けていて逃げたい",
        "子どもが虐待されているかもしれません",
        "DVで住所を隠したい",
    ],
)
def test_dv_abuse_is_recalled(engine: NLUEngine, text: str) -> None:
    assert engine.parse(text)["intent"]["name"] == "dv_abuse"


def test_ranking_and_confidences(engine: NLUEngine) -> None:
    result = engine.parse("住民票を取りたい")
    ranking = result["intent_ranking"]
    assert result["intent"] == ranking[0] and result["intent"]["name"] == "juminhyo"
    assert 2 <= len(ranking) <= 10
    confidences = [r["confidence"] for r in ranking]
    assert confidences == sorted(confidences, reverse=True)
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert sum(confidences) <= 1.0001


def test_two_sentences_in_one_message(engine: NLUEngine) -> None:
    text = "先週こちらに引っ越してきました。転入の手続きは何が必要ですか？"
    assert engine.parse(text)["intent"]["name"] == "moving_in"
