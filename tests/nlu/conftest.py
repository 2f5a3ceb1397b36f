from __future__ import annotations

from pathlib import Path

import pytest

from nlu.engine import NLUEngine, load_or_train


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu-model")


@pytest.fixture(scope="session")
def engine(model_dir: Path) -> NLUEngine:
    return load_or_train(model_dir)
