"""NLUEngine: normalization → Sudachi → intent classifier + entity extraction → Rasa parse dict."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from nlu.classifier import IntentClassifier
from nlu.decision import decide, fallback_only
from nlu.entities import extract, scan_values
from nlu.features import blocks
from nlu.language import detect_language
from nlu.text import dictionary_name, normalize, normalize_with_offsets, tokenize
from nlu.trainingdata import DEFAULT_DATA_DIR, data_hash, load_examples

log = logging.getLogger(__name__)
MODEL_VERSION = "madoguchi-nlu-4"  # bump when features or training change
_ENGINE_FILE = "engine.json"

try:
    from zoneinfo import ZoneInfo

    _TOKYO: dt.tzinfo = ZoneInfo("Asia/Tokyo")
except Exception:  # pragma: no cover - no tz database
    _TOKYO = dt.timezone(dt.timedelta(hours=9), "JST")


def training_fingerprint() -> str:
    """MODEL_VERSION plus the source of every module that shapes the trained model."""
    here = Path(__file__).resolve().parent
    sources = "".join(
        (here / f).read_text(encoding="utf-8")
        for f in ("text.py", "features.py", "classifier.py", "calibration.py", "dates.py", "entities.py", "numerals.py")
    )
    # features depend on the tokenizer: a model trained with one Sudachi dictionary is not reused
    # with another (SUDACHI_DICT)
    return MODEL_VERSION + dictionary_name() + hashlib.sha256(sources.encode()).hexdigest()


def today_in_tokyo() -> dt.date:
    return dt.datetime.now(_TOKYO).date()


def _has_content(text: str) -> bool:
    """False for text without letters/digits, and for long runs of a few characters (ああああ…)."""
    if len(text) > 20 and len(set(text)) <= 3:
        return False
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


class NLUEngine:
    def __init__(self, classifier: IntentClassifier, threshold: float, data_hash: str = "") -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.data_hash = data_hash
        self.english: Any | None = None  # nlu.english.EnglishEngine (CONTRACTS §9), see load_or_train

    @classmethod
    def train(cls, data_dir: Path = DEFAULT_DATA_DIR, folds: int = 5) -> NLUEngine:
        """Train deterministically from Rasa YAML files; threshold and temperature come from CV."""
        from nlu.calibration import cross_validate  # sklearn/scipy: training only

        started = time.perf_counter()
        examples = load_examples(data_dir)
        docs = [blocks(n, tokenize(n)) for n in (normalize(e.text) for e in examples)]
        intents = [e.intent for e in examples]
        cv = cross_validate(docs, intents, folds)
        classifier = IntentClassifier.fit(docs, intents)
        classifier.temperature = cv.temperature
        log.info(
            "trained NLU on %d examples in %.1fs (threshold %.2f, temperature %.3f)",
            len(examples),
            time.perf_counter() - started,
            cv.threshold,
            cv.temperature,
        )
        return cls(classifier, cv.threshold, data_hash(data_dir, training_fingerprint()))

    def parse(self, text: str, today: dt.date | None = None) -> dict[str, Any]:
        """Rasa `/model/parse` dict; entity offsets point into the original `text`."""
        text = text if isinstance(text, str) else ""
        today = today or today_in_tokyo()
        language = detect_language(text)  # kana/kanji: a regex, nothing more for Japanese
        if self.english is not None and language in ("en", "other"):
            result: dict[str, Any] = self.english.parse(text, today, language)
            return result
        norm = normalize_with_offsets(text)
        if not _has_content(norm.text):
            intent, ranking = fallback_only(self.threshold)
            return {"text": text, "intent": intent, "entities": [], "intent_ranking": ranking}
        tokens = tokenize(norm.text)
        values = scan_values(norm.text, today)
        probs = self.classifier.predict(blocks(norm.text, tokens, values))
        intent, ranking = decide(probs, self.classifier.labels, norm.text, self.threshold)
        entities = extract(norm, tokens, today, values)
        return {"text": text, "intent": intent, "entities": entities, "intent_ranking": ranking}

    def save(self, path: Path) -> None:
        """Write the model files into directory `path` (engine.json last, atomically)."""
        path.mkdir(parents=True, exist_ok=True)
        self.classifier.save(path)
        meta = {"version": MODEL_VERSION, "threshold": self.threshold, "data_hash": self.data_hash}
        fd, tmp = tempfile.mkstemp(dir=path, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path / _ENGINE_FILE)

    @classmethod
    def load(cls, path: Path) -> NLUEngine:
        meta = json.loads((path / _ENGINE_FILE).read_text(encoding="utf-8"))
        return cls(IntentClassifier.load(path), float(meta["threshold"]), meta.get("data_hash", ""))


def entities_of(text: str, today: dt.date | None = None) -> list[dict[str, Any]]:
    """The entity extraction of `NLUEngine.parse` alone (no model needed): date, time, age, count
    and relation with offsets into `text`. The Rasa engine's answers get these too (a Rasa
    pipeline resolves neither 来週の火曜日 to a date nor 二通 to 2)."""
    text = text if isinstance(text, str) else ""
    norm = normalize_with_offsets(text)
    if not _has_content(norm.text):
        return []
    return extract(norm, tokenize(norm.text), today or today_in_tokyo())


def saved_hash(model_dir: Path) -> str | None:
    try:
        return json.loads((model_dir / _ENGINE_FILE).read_text(encoding="utf-8")).get("data_hash")
    except (OSError, ValueError):
        return None


def load_or_train(model_dir: Path, data_dir: Path | None = None) -> NLUEngine:
    """Reuse the model in `model_dir` if it was trained on the same data, else train and save."""
    from nlu.english import load_or_train_en

    engine = _load_or_train_ja(model_dir, data_dir or DEFAULT_DATA_DIR)
    engine.english = load_or_train_en(model_dir / "en", (data_dir or DEFAULT_DATA_DIR) / "en")
    return engine


def models_current(model_dir: Path, data_dir: Path | None = None) -> bool:
    """Both saved models (Japanese, and English when there is English data) were trained on the
    data and code as they are now: `load_or_train` would load, not train. Reads hashes only."""
    from nlu.english import english_current

    data_dir = data_dir or DEFAULT_DATA_DIR
    if saved_hash(model_dir) != data_hash(data_dir, training_fingerprint()):
        return False
    return english_current(model_dir / "en", data_dir / "en")


def _load_or_train_ja(model_dir: Path, data_dir: Path) -> NLUEngine:
    wanted = data_hash(data_dir, training_fingerprint())
    if saved_hash(model_dir) == wanted:
        try:
            return NLUEngine.load(model_dir)
        except Exception as exc:  # truncated/corrupt files (e.g. EOFError, BadZipFile): retrain
            log.warning("saved NLU model unreadable (%s); retraining", type(exc).__name__)
    engine = NLUEngine.train(data_dir)
    engine.save(model_dir)
    return engine
