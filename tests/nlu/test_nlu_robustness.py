"""Bad input never raises and always gives a well-formed parse; save/load and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nlu.engine import NLUEngine, load_or_train, saved_hash
from nlu.interpreter import EmbeddedInterpreter, Interpreter
from nlu.text import normalize, tokenize

ROOT = Path(__file__).resolve().parents[2]


def well_formed(result: dict[str, Any], text: str) -> None:
    assert result["text"] == text
    assert isinstance(result["intent"]["name"], str)
    assert 0.0 <= result["intent"]["confidence"] <= 1.0
    assert result["intent_ranking"] and result["intent_ranking"][0] == result["intent"]
    for e in result["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(text)
        assert set(e) == {"entity", "value", "start", "end", "extractor"}
    json.dumps(result, ensure_ascii=False)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t",
        "😀",
        "😀🙏🏻👍",
        "❤️❤️❤️",
        "。。。",
        "？？？",
        "\x00\x01\x1b[31m",
        "住民票\x00を\u200bください",
        "Hello 住民票 please ১২৩ Привет 안녕 مرحبا",
        "ｱｲｳｴｵ",
        "ｗｗｗｗ",
        "a" * 10_000,
        "住民票" * 3400,
        "\ud800",
        "1/0",
        "9999年99月99日",
        "令和999年1月1日",
        "99999999999歳",
    ],
)
def test_bad_input(engine: NLUEngine, text: str) -> None:
    well_formed(engine.parse(text), text)


@pytest.mark.parametrize("text", ["", "😀", "😀🙏🏻", "\x00\x01", "。。。", "あ" * 10_000, "ｗ" * 50])
def test_empty_content_falls_back(engine: NLUEngine, text: str) -> None:
    assert engine.parse(text)["intent"]["name"] == "nlu_fallback"


def test_normalize_and_tokenize_api() -> None:
    assert normalize("ＡＢＣ１２３　ｶﾞｲﾄﾞ") == "abc123 ガイド"
    assert normalize("ありがとーーー！！😀") == "ありがとー!"
    assert normalize("マイナンバ-カード") == "マイナンバーカード"
    tokens = tokenize(normalize("ゴミの申し込み"))
    assert tokens[0].normalized == tokenize("ごみ")[0].normalized
    assert all(t.end > t.begin for t in tokens)


def test_save_load_roundtrip(engine: NLUEngine, tmp_path: Path) -> None:
    engine.save(tmp_path)
    loaded = NLUEngine.load(tmp_path)
    day = dt.date(2026, 11, 27)
    for text in ["住民票", "来週の火曜日に2歳の子を預けたい", "天気どう？"]:
        assert loaded.parse(text, today=day) == engine.parse(text, today=day)
    assert saved_hash(tmp_path) == engine.data_hash
    assert load_or_train(tmp_path).data_hash == engine.data_hash  # reuses, no retraining


async def test_embedded_interpreter(engine: NLUEngine) -> None:
    interpreter: Interpreter = EmbeddedInterpreter(engine)
    assert isinstance(interpreter, Interpreter)
    result = await interpreter.parse("明日住民票を取りたい", today=dt.date(2026, 11, 27))
    assert result["intent"]["name"] == "juminhyo"
    assert result["entities"][0]["value"] == "2026-11-28"


def test_cli_parse_stdin(engine: NLUEngine, model_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "nlu", "parse", "--today", "2026-11-27", "--model-dir", str(model_dir)],
        input="住民票\n\n来週の火曜日\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["text"] for r in lines] == ["住民票", "", "来週の火曜日"]
    assert lines[2]["entities"][0]["value"] == "2026-12-01"
