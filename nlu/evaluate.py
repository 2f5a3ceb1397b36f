"""Cross-validated evaluation of the intent classifier, printed like `rasa test nlu`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.calibration import cross_validate
from nlu.decision import FALLBACK, decide
from nlu.features import blocks
from nlu.text import normalize, tokenize
from nlu.trainingdata import DEFAULT_DATA_DIR, Example, load_examples


@dataclass(frozen=True)
class Report:
    examples: list[Example]
    predicted: list[str]  # after the DV rule and the fallback threshold
    threshold: float
    temperature: float


def run(data_dir: Path = DEFAULT_DATA_DIR, folds: int = 5) -> Report:
    examples = load_examples(data_dir)
    norms = [normalize(e.text) for e in examples]
    docs = [blocks(n, tokenize(n)) for n in norms]
    cv = cross_validate(docs, [e.intent for e in examples], folds)
    probs = cv.probs()
    predicted = [str(decide(probs[i], cv.labels, norms[i], cv.threshold)[0]["name"]) for i in range(len(examples))]
    return Report(examples, predicted, cv.threshold, cv.temperature)


def per_intent(report: Report) -> dict[str, tuple[float, float, float, int]]:
    gold = [e.intent for e in report.examples]
    out = {}
    for intent in sorted(set(gold)):
        tp = sum(g == p == intent for g, p in zip(gold, report.predicted, strict=True))
        n_pred = sum(p == intent for p in report.predicted)
        n_gold = sum(g == intent for g in gold)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        out[intent] = (prec, rec, f1, n_gold)
    return out


def correct(gold: str, pred: str) -> bool:
    """nlu_fallback is a right answer for out_of_scope messages (CONTRACTS §2)."""
    return gold == pred or (gold == "out_of_scope" and pred == FALLBACK)


def summary(report: Report) -> dict[str, float]:
    gold = [e.intent for e in report.examples]
    pairs = list(zip(gold, report.predicted, strict=True))
    scores = per_intent(report)
    return {
        "accuracy": float(np.mean([correct(g, p) for g, p in pairs])),
        "accuracy_strict": float(np.mean([g == p for g, p in pairs])),
        "macro_f1": float(np.mean([s[2] for s in scores.values()])),
        "fallback_rate": float(np.mean([p == FALLBACK for p in report.predicted])),
        "threshold": report.threshold,
        "temperature": report.temperature,
        "examples": float(len(gold)),
    }


def confusions(report: Report, top: int = 15) -> list[tuple[str, str, int, list[str]]]:
    pairs: Counter[tuple[str, str]] = Counter()
    texts: dict[tuple[str, str], list[str]] = {}
    for e, p in zip(report.examples, report.predicted, strict=True):
        if not correct(e.intent, p):
            pairs[(e.intent, p)] += 1
            texts.setdefault((e.intent, p), []).append(e.text)
    return [(g, p, n, texts[(g, p)][:3]) for (g, p), n in pairs.most_common(top)]


def format_report(report: Report) -> str:
    lines = [f"{'intent':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for intent, (p, r, f, n) in per_intent(report).items():
        lines.append(f"{intent:<22}{p:>10.3f}{r:>8.3f}{f:>8.3f}{n:>9d}")
    s = summary(report)
    lines += [
        "",
        f"examples: {int(s['examples'])}   folds: cross-validated, out-of-fold predictions",
        f"accuracy: {s['accuracy']:.4f} (fallback counted right for out_of_scope; strict {s['accuracy_strict']:.4f})",
        f"macro-F1: {s['macro_f1']:.4f}",
        f"fallback threshold (chosen by CV utility): {s['threshold']:.2f}   "
        f"temperature: {s['temperature']:.4f}   fallback rate: {s['fallback_rate']:.3f}",
        "",
        "most confused pairs (gold → predicted: count, examples):",
    ]
    for gold, pred, n, examples in confusions(report):
        lines.append(f"  {gold} → {pred}: {n}   e.g. {' / '.join(examples)}")
    return "\n".join(lines)
