"""File storage for imported municipality knowledge (FAQ, ごみ分別).

Everything lives as JSON under ``<data_dir>/knowledge/``. Writes are atomic: the new content is
written to a temporary file in the same directory and moved over the old one with ``os.replace``,
so an import either replaces the previous data whole or leaves it untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FAQ_FILE = "faq.json"
WASTE_FILE = "waste.json"


def default_data_dir() -> Path:
    """``DATA_DIR`` from the environment, else ``var/`` relative to the working directory."""
    return Path(os.environ.get("DATA_DIR") or "var")


def knowledge_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "knowledge"


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as UTF-8 JSON to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any | None:
    """The parsed JSON at ``path``, or None when the file does not exist."""
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def read_text_file(path: Path) -> str:
    """Read an input file: UTF-8 (with or without BOM), falling back to CP932 (Shift_JIS)."""
    raw = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise KnowledgeImportError(f"{path}: not UTF-8 or Shift_JIS text")


class KnowledgeImportError(ValueError):
    """Invalid input for an importer; the message names the row/id and field."""
