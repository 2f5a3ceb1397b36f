"""From class probabilities to the final intent: sensitive-intent backstop and nlu_fallback."""

from __future__ import annotations

import re

import numpy as np

FALLBACK = "nlu_fallback"
DV_INTENT = "dv_abuse"
RANKING_SIZE = 10
# Missing a DV/abuse/danger message is worse than a false alarm: these words always escalate.
DV_KEYWORDS = re.compile(
    r"暴力|殴ら|殴る|殴って|殴り|なぐら|蹴ら|蹴る|叩か|叩く|叩い|手をあげ|怒鳴ら|怒鳴り|虐待|ぎゃくたい|(?<![a-z])dv(?![a-z])|でぃーぶい"
    r"|ストーカー|つきまと|脅さ|脅迫|監禁|首を絞め|殺す|殺され|殺さ|死にたい|しにたい|消えたい|自殺"
    r"|身の危険|性被害|性暴力|シェルター|モラハラ|逃げたい|逃げてき|加害者|暴言|助けて|たすけて"
    r"|消えてしまいたい|生きていたくない|生きていけない"
)
# …a DV/abuse probability this high wins when it is ranked second, and a top-ranked dv_abuse at
# least this likely never falls back (below the general threshold it still escalates).
DV_MIN_PROB = 0.15
DV_TOP_MIN_PROB = 0.3


def _swap_to_top(probs: np.ndarray, k: int) -> np.ndarray:
    probs = probs.copy()
    top = int(probs.argmax())
    probs[top], probs[k] = probs[k], probs[top]
    return probs


def adjust(probs: np.ndarray, labels: list[str], norm_text: str) -> tuple[np.ndarray, bool]:
    """Apply the DV/abuse backstop. Returns the probabilities and whether the answer must be
    dv_abuse whatever the fallback threshold says."""
    if DV_INTENT not in labels:
        return probs, False
    k = labels.index(DV_INTENT)
    keyword = DV_KEYWORDS.search(norm_text) is not None
    if int(probs.argmax()) == k:
        return probs, keyword or probs[k] >= DV_TOP_MIN_PROB
    second = int(np.argsort(probs)[-2])
    if keyword or (second == k and probs[k] >= DV_MIN_PROB):
        return _swap_to_top(probs, k), True
    return probs, False


def decide(probs: np.ndarray, labels: list[str], norm_text: str,
           threshold: float) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Intent and ranking (Rasa format). Below `threshold` the intent is nlu_fallback, whose
    confidence is the threshold itself and which heads the ranking, as Rasa's FallbackClassifier does."""
    probs, forced = adjust(probs, labels, norm_text)
    order = np.argsort(-probs, kind="stable")[:RANKING_SIZE]
    ranking: list[dict[str, object]] = [
        {"name": labels[i], "confidence": round(float(probs[i]), 4)} for i in order
    ]
    top = ranking[0]
    if not forced and float(probs[order[0]]) < threshold:
        fallback = {"name": FALLBACK, "confidence": threshold}
        return fallback, [fallback, *ranking[: RANKING_SIZE - 1]]
    return dict(top), ranking


def fallback_only(threshold: float) -> tuple[dict[str, object], list[dict[str, object]]]:
    fallback = {"name": FALLBACK, "confidence": threshold}
    return fallback, [dict(fallback)]
