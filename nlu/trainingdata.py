"""Read Rasa 3 NLU YAML (`nlu/data/*.yml`): intents with examples (entity annotations stripped)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
# [text](entity), [text]{"entity": ...}, [text][{...}] → text
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    source: str


def strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def _parse_examples(block: str) -> list[str]:
    out = []
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("- "):
            line = line[2:].strip()
        elif line == "-":
            continue
        if line:
            out.append(strip_annotations(line))
    return out


def data_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.glob("*.yml") if p.is_file())


def load_examples(data_dir: Path = DEFAULT_DATA_DIR) -> list[Example]:
    """All intent examples of every YAML file in `data_dir`, in a stable order."""
    examples: list[Example] = []
    for path in data_files(data_dir):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in doc.get("nlu") or []:
            if "intent" not in item:
                continue
            for text in _parse_examples(item.get("examples") or ""):
                examples.append(Example(text, str(item["intent"]), path.name))
    return examples


def data_hash(data_dir: Path, extra: str = "") -> str:
    """Hash of the training files (names and bytes) plus `extra` (e.g. the code version)."""
    h = hashlib.sha256(extra.encode())
    for path in data_files(data_dir):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
