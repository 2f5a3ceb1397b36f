"""`models_current`: the check that lets a server start without training (bot/http/workers.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from nlu.engine import models_current


def _trained_dir(tmp_path: Path, tmp_path_factory: Any, nlu_engine: Any) -> Path:
    """A copy of the session's trained models (Japanese and English), to change freely."""
    source = sorted(p for p in tmp_path_factory.getbasetemp().glob("models*") if any(p.iterdir()))[0]
    return Path(shutil.copytree(source, tmp_path / "models"))


def test_models_trained_on_this_data_are_current(tmp_path: Path, tmp_path_factory: Any, nlu_engine: Any) -> None:
    assert models_current(_trained_dir(tmp_path, tmp_path_factory, nlu_engine))


def test_a_missing_or_outdated_model_is_not_current(tmp_path: Path, tmp_path_factory: Any, nlu_engine: Any) -> None:
    models = _trained_dir(tmp_path, tmp_path_factory, nlu_engine)
    meta = models / "en" / "engine_en.json"
    saved = json.loads(meta.read_text(encoding="utf-8"))
    meta.write_text(json.dumps({**saved, "data_hash": "trained-on-other-data"}), encoding="utf-8")
    assert not models_current(models)  # the English model is outdated
    meta.unlink()
    assert not models_current(models)  # missing
    assert not models_current(tmp_path / "nothing-here")
