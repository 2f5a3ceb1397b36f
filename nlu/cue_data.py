"""Cue words kept as data (`nlu/cues/*.yml`), read once: pure text analysis, below everything."""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CUES_DIR = Path(__file__).resolve().parent / "cues"


class CueDataError(ValueError):
    """A cue file is malformed; the message names the file and the key."""


@cache
def load_cues(name: str) -> dict[str, Any]:
    path = CUES_DIR / f"{name}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise CueDataError(f"{path}: the top level must be a mapping")
    return raw


def word_list(path_name: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
        raise CueDataError(f"nlu/cues/{path_name}.yml: {key}: must be a list of words")
    return tuple(normalize(w) for w in value)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")
