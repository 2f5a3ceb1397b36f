"""The IMI date-normalization specs (../shared/datasets/imi-enrichment-date), read from the files.

Convention adopted (see SOURCE.md): 和暦 first years use plain year arithmetic, so 令和元年1月1日 →
2019-01-01 although 令和 began on 2019-05-01; every such case is kept.
Left out on purpose:
- 003-misc "すでに標準型日付がある場合には正規化しない": it tests the enrichment API (an input object that
  already carries 標準型日付), not a notation a chat message could contain.
- 003-misc metadata cases (X1-01-01, X1-1-1): the metadata object is API behaviour; what a chat
  message can show is only that no date is extracted, and that is what is tested.
- 003-misc "表記が複数ある場合は初出を対象とすること": the input is a list; tested as "the first
  notation of the list gives the expected date" and "both notations found in one message".
- 001-io.json: input/output shapes of the IMI API only.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from nlu.dates import find_dates
from nlu.text import normalize
from tests.conftest import needs_path

DATE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "imi-enrichment-date"
TODAY = dt.date(2026, 11, 27)
SKIP_API_ONLY = {"すでに標準型日付がある場合には正規化しない"}


def _cases(name: str) -> list[dict[str, Any]]:
    path = DATE_DIR / name
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [str(c["name"]) for c in cases]


NORMALIZE = _cases("002-normalize.json")
MISC = [c for c in _cases("003-misc.json") if c["name"] not in SKIP_API_ONLY]
missing = needs_path(DATE_DIR)


@missing
def test_spec_files_present() -> None:
    assert len(NORMALIZE) == 46


@missing
@pytest.mark.parametrize("case", NORMALIZE, ids=_ids(NORMALIZE))
def test_normalize_spec(case: dict[str, Any]) -> None:
    notation = case["input"]["表記"]
    spans = find_dates(normalize(notation), TODAY)
    assert [s.value for s in spans] == [case["output"]["標準型日付"]]
    assert (spans[0].start, spans[0].end) == (0, len(normalize(notation)))


@missing
@pytest.mark.parametrize("case", NORMALIZE[:12], ids=_ids(NORMALIZE[:12]))
def test_normalize_spec_inside_a_message(case: dict[str, Any], engine: Any) -> None:
    notation = case["input"]["表記"]
    text = f"{notation}に引っ越しました"
    dates = [e for e in engine.parse(text, today=TODAY)["entities"] if e["entity"] == "date"]
    assert [(d["value"], d["start"], d["end"]) for d in dates] == [(case["output"]["標準型日付"], 0, len(notation))]


@missing
@pytest.mark.parametrize("case", MISC, ids=_ids(MISC))
def test_misc_spec(case: dict[str, Any]) -> None:
    notations = case["input"]["表記"]
    notations = notations if isinstance(notations, list) else [notations]
    expected = case["output"].get("標準型日付")
    found = find_dates(normalize(notations[0]), TODAY)
    if expected is None:  # "正規化できない日付表記です": no date may come out of it
        assert found == []
    else:
        assert found[0].value == expected
        both = find_dates(normalize(" と ".join(notations)), TODAY)
        assert both[0].value == expected and len(both) == len(notations)
