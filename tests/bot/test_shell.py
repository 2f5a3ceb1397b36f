"""`python -m bot.shell`: a terminal conversation on the real dispatcher."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def test_shell_greets_answers_and_presses_buttons_by_number(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "bot.shell", "--sender", "shell-test"],
        cwd=REPO,
        env=env,
        input="何ができますか\n1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "窓口案内です" in out  # the greeting
    assert "[1] 住民票の写し" in out  # buttons are numbered
    assert "お手伝いできます" in out  # the answer to the question
    assert "住民票" in out.split("お手伝いできます", 1)[1]  # "1" pressed the first button
