"""The readiness check's migration heads, read without Alembic, are Alembic's own."""

from __future__ import annotations

import os
import subprocess
import sys

from alembic.script import ScriptDirectory

from bot.store.db import _heads, alembic_config, expected_heads
from tests.conftest import REPO


def test_heads_read_from_the_version_files_are_alembics() -> None:
    _heads.cache_clear()
    alembic = set(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())
    assert len(alembic) > 1  # the migrations branch: several heads, each must be found
    assert expected_heads() == alembic


def test_a_serving_process_does_not_import_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The app as a worker builds it, and its readiness check: no Alembic, no scikit-learn (the
    models are trained in a process of their own, bot/http/workers.py)."""
    code = (
        "import sys, server; from bot.settings import Settings; server.create_app(Settings()); "
        "from bot.store.db import expected_heads; expected_heads(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'sklearn')))"
    )
    env = {**os.environ, "DATA_DIR": str(tmp_path), "DEMO_MODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
