"""The serving path computes a message's features with shortcuts that training does not take: the
date/time/count scan is shared between the shape features and the entity extractor (with the
real day, where training uses a fixed reference day), and the weights are float32. Both must give
the classifier what training gave it."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from nlu.engine import NLUEngine
from nlu.entities import scan_values
from nlu.features import blocks
from nlu.text import normalize, normalize_with_offsets, tokenize
from nlu.trainingdata import load_examples

DAYS = [dt.date(2026, 11, 27), dt.date(2027, 3, 31), dt.date(2030, 12, 31)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    extra = ["12月5日の午後3時に2人で", "来月の10日", "令和元年5月1日生まれです", "3日後", "中央2-5です"]
    return [e.text for e in load_examples()] + extra


@pytest.mark.parametrize("today", DAYS)
def test_shared_scan_gives_the_training_features(texts: list[str], today: dt.date) -> None:
    # A date span can depend on the day only where a date exists in one year and not in another
    # (2月29日); neither the training data nor these texts have one.
    different = []
    for text in texts:
        norm = normalize(text)
        tokens = tokenize(norm)
        if blocks(norm, tokens) != blocks(norm, tokens, scan_values(norm, today)):
            different.append(text)
    assert different == []


def test_parse_uses_the_same_features_as_predict(engine: NLUEngine, texts: list[str]) -> None:
    """parse() (shared scan, real day) ranks like predict() on the training-path features."""
    today = DAYS[0]
    for text in texts[::7]:
        norm = normalize_with_offsets(text).text
        expected = engine.classifier.predict(blocks(norm, tokenize(norm)))
        ranking = engine.parse(text, today=today)["intent_ranking"]
        top = engine.classifier.labels[int(np.argmax(expected))]
        assert top in [r["name"] for r in ranking[:2]], text  # [0] may be nlu_fallback


def test_weights_are_float32_and_close_to_float64(engine: NLUEngine, texts: list[str]) -> None:
    clf = engine.classifier
    assert clf.weights.dtype == np.float32
    for text in texts[::50]:
        norm = normalize(text)
        idx, val = clf.featurizer.vector(*blocks(norm, tokenize(norm)))
        exact = val @ clf.weights[idx].astype(np.float64) + clf.bias
        assert np.max(np.abs(clf.logits(blocks(norm, tokenize(norm))) - exact)) < 1e-4
