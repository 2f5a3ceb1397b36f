"""Print the evaluation figures: `python -m tests.eval.report` (runs tests/eval with EVAL_PRINT)."""

from __future__ import annotations

import os
import sys

import pytest

if __name__ == "__main__":
    os.environ["EVAL_PRINT"] = "1"
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(pytest.main(["-q", "-s", "-p", "no:cacheprovider", os.path.join(here, "test_eval.py")]))
