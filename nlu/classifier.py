"""Intent classifier: linear SVM (one-vs-rest) over `features`, numpy inference.

sklearn is used only to fit the weights; prediction is `W[idx] @ val + b` followed by a
temperature-scaled softmax whose temperature is fitted on cross-validated decision values
(see `calibration`), which turns SVM margins into calibrated confidences.
A linear SVM trains ~20x faster than lbfgs logistic regression here and is more accurate in CV.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from nlu.features import Featurizer

SEED = 20261127
C = 1.0
# Recall matters more than precision for sensitive intents: weight their examples up.
CLASS_WEIGHTS = {"dv_abuse": 2.0}

Doc = tuple[list[str], ...]  # term blocks of one text (features.blocks)


@contextmanager
def _atomic(target: Path, mode: str) -> Iterator[IO[Any]]:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class IntentClassifier:
    def __init__(
        self, featurizer: Featurizer, labels: list[str], weights: np.ndarray, bias: np.ndarray, temperature: float = 1.0
    ) -> None:
        self.featurizer = featurizer
        self.labels = labels
        # (n_features, n_classes), float32: half the memory of float64 and of the rows gathered per
        # message; the decision values differ by < 1e-5, far below any threshold or ranking gap.
        self.weights = np.ascontiguousarray(weights.T, dtype=np.float32)
        self.bias = bias.astype(np.float64)
        self.temperature = temperature

    @classmethod
    def fit(cls, docs: Sequence[Doc], intents: Sequence[str]) -> IntentClassifier:
        from sklearn.svm import LinearSVC  # training only: keeps sklearn out of the serving process

        featurizer = Featurizer.fit(docs)
        x = featurizer.matrix(docs)
        labels = sorted(set(intents))
        y = np.array([labels.index(i) for i in intents])
        sample_weight = np.array([CLASS_WEIGHTS.get(i, 1.0) for i in intents])
        model = LinearSVC(C=C, max_iter=5000, random_state=SEED)
        model.fit(x, y, sample_weight=sample_weight)
        return cls(featurizer, labels, model.coef_, model.intercept_)

    def logits(self, doc: Doc) -> np.ndarray:
        idx, val = self.featurizer.vector(*doc)
        if len(idx) == 0:
            return self.bias.copy()
        return val.astype(np.float32) @ self.weights[idx] + self.bias

    def probs_from_logits(self, logits: np.ndarray) -> np.ndarray:
        z = logits / self.temperature
        z = np.exp(z - z.max(axis=-1, keepdims=True))
        return z / z.sum(axis=-1, keepdims=True)

    def predict(self, doc: Doc) -> np.ndarray:
        return self.probs_from_logits(self.logits(doc))

    def save(self, path: Path) -> None:
        """Write the two model files atomically (another process may be reading or writing them)."""
        path.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.featurizer.vocab, key=self.featurizer.vocab.__getitem__)
        with _atomic(path / "intent_weights.npz", "wb") as fh:
            np.savez_compressed(fh, weights=self.weights, bias=self.bias, idf=self.featurizer.idf)
        meta = {"labels": self.labels, "terms": terms, "temperature": self.temperature}
        with _atomic(path / "intent_vocab.json", "w") as fh:
            fh.write(json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> IntentClassifier:
        arrays = np.load(path / "intent_weights.npz", allow_pickle=False)
        meta = json.loads((path / "intent_vocab.json").read_text(encoding="utf-8"))
        featurizer = Featurizer({t: i for i, t in enumerate(meta["terms"])}, arrays["idf"])
        return cls(featurizer, meta["labels"], arrays["weights"].T, arrays["bias"], meta["temperature"])
