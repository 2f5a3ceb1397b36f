"""ごみ分別: importer, whole Takamatsu list, kana/typo variants, message extraction, demo list."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from knowledge.__main__ import main
from knowledge.store import KnowledgeImportError
from knowledge.textproc import to_hiragana
from knowledge.waste import WasteGuide, extract_item, import_waste
from tests.conftest import needs_path, skip_unless_available

ROOT = Path(__file__).resolve().parents[2]
TAKAMATSU = ROOT.parent / "shared" / "datasets" / "takamatsu-garbage-separation" / "0074.csv"
DEMO_WASTE = ROOT / "knowledge" / "data" / "demo_waste.csv"
needs_takamatsu = needs_path(TAKAMATSU)


@pytest.fixture(scope="module")
def takamatsu(tmp_path_factory: pytest.TempPathFactory) -> WasteGuide:
    if not TAKAMATSU.exists():
        skip_unless_available(f"Takamatsu list not found at {TAKAMATSU}")
    data_dir = tmp_path_factory.mktemp("waste")
    assert import_waste(TAKAMATSU, data_dir) == 606
    return WasteGuide.load(data_dir)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> WasteGuide:
    data_dir = tmp_path_factory.mktemp("demo_waste")
    import_waste(DEMO_WASTE, data_dir)
    return WasteGuide.load(data_dir)


@needs_takamatsu
def test_every_takamatsu_item_resolves_to_its_category(takamatsu: WasteGuide) -> None:
    with TAKAMATSU.open(encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["name"].strip()]
    wrong = []
    for row in rows:
        answer = takamatsu.lookup(row["name"])
        if answer is None or answer.ambiguous or answer.category != row["classification"].strip():
            wrong.append((row["name"], answer and answer.category))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("variant", "name", "category"),
    [
        ("ぺっとぼとる", "ペットボトル（飲料・酒・醤油用など）", "缶・びん・ペットボトル"),
        ("あいろんだい", "アイロン台", "破砕ごみ"),
        ("でんしれんじ", "電子レンジ", "破砕ごみ"),
        ("電子レンヂ", "電子レンジ", "破砕ごみ"),
        ("ゴルフクラブ", "ゴルフクラブ", "破砕ごみ"),
        ("ごるふくらぶ", "ゴルフクラブ", "破砕ごみ"),
        ("ゴルフクラ", "ゴルフクラブ", "破砕ごみ"),
        ("すいはんき", "炊飯ジャー", "破砕ごみ"),
        ("せんぷうき", "扇風機", "破砕ごみ"),
        ("ＩＣレコーダ", "ＩＣレコーダー", "破砕ごみ"),
        ("ボルペン", "ボールペン", "破砕ごみ"),
        ("テレビ", "テレビ", "家電リサイクル法対象品"),
    ],
)
def test_variants_resolve(takamatsu: WasteGuide, variant: str, name: str, category: str) -> None:
    answer = takamatsu.lookup(variant)
    assert answer is not None and (answer.item, answer.category) == (name, category)


@needs_takamatsu
def test_hiragana_of_katakana_sample(takamatsu: WasteGuide) -> None:
    names = [i.name for i in takamatsu.items if i.name.isascii() is False and "（" not in i.name]
    katakana = [n for n in names if all("ァ" <= c <= "ー" for c in n)][::5]
    assert len(katakana) >= 10
    for name in katakana:
        answer = takamatsu.lookup(to_hiragana(name))
        assert answer is not None and name in [c.name for c in answer.candidates], name


def test_ambiguous_returns_candidates(takamatsu: WasteGuide) -> None:
    answer = takamatsu.lookup("板くずは何ごみ？")
    assert answer is not None and answer.ambiguous and len(answer.candidates) == 2
    assert "どれにあたりますか" in answer.sentence


def test_sentence_built_from_data(takamatsu: WasteGuide) -> None:
    answer = takamatsu.lookup("アイロン台")
    note = "大きさ1m×50cm×50cm又は重量10kgを超えるものは「臨時・粗大ごみ」"
    assert answer.sentence == f"「アイロン台」は「破砕ごみ」です。{note}。"
    assert answer.note.startswith("大きさ1m")


@pytest.mark.parametrize(
    ("message", "item"),
    [
        ("ペットボトルは何ごみ？", "ペットボトル"),
        ("電子レンジってどうやって捨てる?", "電子レンジ"),
        ("傘の捨て方", "傘"),
        ("古い自転車を捨てたいです", "古い自転車"),
        ("スプレー缶の出し方を教えて", "スプレー缶"),
        ("布団", "布団"),
    ],
)
def test_extract_item(message: str, item: str) -> None:
    assert extract_item(message) == item


def test_demo_list_messages(demo: WasteGuide) -> None:
    assert demo.lookup("ペットボトルは何ごみ？").category == "資源ごみ（びん・缶・ペットボトル）"
    assert demo.lookup("でんしれんじってどうやって捨てる?").item == "電子レンジ"
    assert demo.lookup("傘の捨て方").category == "燃やさないごみ"
    assert demo.lookup("宇宙船") is None


def test_invalid_waste_csv_keeps_previous(tmp_path: Path) -> None:
    import_waste(DEMO_WASTE, tmp_path)
    before = (tmp_path / "knowledge" / "waste.json").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text('"#property","name","note"\n"1","傘",""\n', encoding="utf-8")
    with pytest.raises(KnowledgeImportError, match="classification"):
        import_waste(bad, tmp_path)
    bad.write_text('"#property","name","classification","note"\n"1","傘","",""\n', encoding="utf-8")
    assert main(["--data-dir", str(tmp_path), "waste", "import", str(bad)]) == 2
    assert (tmp_path / "knowledge" / "waste.json").read_bytes() == before
