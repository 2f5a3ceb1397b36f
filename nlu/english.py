"""The English intent model: the same intents as the Japanese one, from `nlu/data/en/*.yml`.

Built like the Japanese classifier (`classifier.IntentClassifier`: linear SVM over TF-IDF blocks,
temperature and fallback threshold from cross-validation) with English terms: lower-cased words
with a light suffix stemmer, word bigrams, and character 2–4-grams (typos, "juminhyo"/"jumin-hyo").
It is a separate model on purpose: the Japanese model never sees an English example, so its
figures cannot move. Entities: `nlu.en_entities` (tomorrow, next Tuesday, Dec 5, 3pm, two copies).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

from nlu.classifier import IntentClassifier
from nlu.decision import decide, fallback_only
from nlu.en_entities import extract_en
from nlu.trainingdata import DEFAULT_DATA_DIR, data_hash, load_examples

log = logging.getLogger(__name__)
EN_DATA_DIR = DEFAULT_DATA_DIR / "en"
EN_MODEL_VERSION = "madoguchi-nlu-en-1"
_META = "engine_en.json"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SUFFIXES = ("ing", "ed", "es", "s")
CHAR_NGRAMS = (2, 3, 4)
# Safety first, as in Japanese (nlu/decision.py): violence or abuse said in words is dv_abuse even
# when the model hesitates between it and a fallback.
DV_CUES = re.compile(
    r"\b(?:violen\w*|abus\w*|hit(?:s|ting)? me|beat(?:s|ing)? (?:me|us|the kids)|hurt(?:s|ing)? (?:me|us)|"
    r"threaten\w*|kill (?:me|us)|domestic violence|stalk\w*)"
)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def normalize_en(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def en_blocks(norm: str) -> tuple[list[str], list[str], list[str]]:
    """Word terms (stems + bigrams), character n-grams, and cue terms of a normalized text."""
    words = [_stem(w.replace("'", "")) for w in _WORD.findall(norm[:1000])]
    terms = ["w:" + w for w in words] + ["b:" + a + "|" + b for a, b in zip(words, words[1:], strict=False)]
    padded = "^" + re.sub(r"[^a-z0-9 ]", "", norm[:1000]).replace(" ", "_") + "$"
    chars = [f"c:{padded[i : i + n]}" for n in CHAR_NGRAMS for i in range(len(padded) - n + 1)]
    cues = ["x:neg"] if re.search(r"\b(?:not|no|don't|dont|never)\b", norm) else []
    return terms, chars, cues


def fingerprint() -> str:
    here = Path(__file__).resolve().parent
    sources = "".join(
        (here / f).read_text(encoding="utf-8")
        for f in ("english.py", "en_entities.py", "classifier.py", "calibration.py")
    )
    return EN_MODEL_VERSION + hashlib.sha256(sources.encode()).hexdigest()


class EnglishEngine:
    def __init__(self, classifier: IntentClassifier, threshold: float, data_hash: str = "") -> None:
        self.classifier = classifier
        self.threshold = threshold
        self.data_hash = data_hash

    @classmethod
    def train(cls, data_dir: Path = EN_DATA_DIR, folds: int = 5) -> EnglishEngine:
        from nlu.calibration import cross_validate  # sklearn: training only

        examples = load_examples(data_dir)
        docs = [en_blocks(normalize_en(e.text)) for e in examples]
        intents = [e.intent for e in examples]
        cv = cross_validate(docs, intents, folds)
        classifier = IntentClassifier.fit(docs, intents)
        classifier.temperature = cv.temperature
        log.info("trained English NLU on %d examples (threshold %.2f)", len(examples), cv.threshold)
        return cls(classifier, cv.threshold, data_hash(data_dir, fingerprint()))

    def parse(self, text: str, today: dt.date, language: str = "en") -> dict[str, Any]:
        norm = normalize_en(text)
        if language != "en" or not norm:
            intent, ranking = fallback_only(self.threshold)
        else:
            probs = self.classifier.predict(en_blocks(norm))
            intent, ranking = decide(probs, self.classifier.labels, norm, self.threshold)
            if DV_CUES.search(norm) and "dv_abuse" in self.classifier.labels:
                intent = {"name": "dv_abuse", "confidence": max(float(intent["confidence"]), self.threshold)}  # type: ignore[arg-type]
                ranking = [dict(intent), *[r for r in ranking if r["name"] != "dv_abuse"]]
        entities = extract_en(text, today) if language == "en" else []
        return {"text": text, "intent": intent, "entities": entities, "intent_ranking": ranking, "language": language}

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.classifier.save(path)
        meta = {"version": EN_MODEL_VERSION, "threshold": self.threshold, "data_hash": self.data_hash}
        (path / _META).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> EnglishEngine:
        meta = json.loads((path / _META).read_text(encoding="utf-8"))
        return cls(IntentClassifier.load(path), float(meta["threshold"]), meta.get("data_hash", ""))


def english_current(model_dir: Path, data_dir: Path = EN_DATA_DIR) -> bool:
    """The saved English model matches the data and code (or there is no English data)."""
    if not any(data_dir.glob("*.yml")):
        return True
    try:
        saved = json.loads((model_dir / _META).read_text(encoding="utf-8")).get("data_hash")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(saved == data_hash(data_dir, fingerprint()))


def load_or_train_en(model_dir: Path, data_dir: Path = EN_DATA_DIR) -> EnglishEngine | None:
    """The English model in `model_dir` if trained on the same data, else trained and saved there;
    None when there is no English data (a municipality that removed it)."""
    if not any(data_dir.glob("*.yml")):
        return None
    if english_current(model_dir, data_dir):
        try:
            return EnglishEngine.load(model_dir)
        except (OSError, ValueError, KeyError):
            pass  # unreadable files: trained again
    engine = EnglishEngine.train(data_dir)
    engine.save(model_dir)
    return engine
