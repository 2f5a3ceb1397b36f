"""FAQ importer (CSV / corpus JSON), atomic replacement, search CLI and demo retrieval."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge import faq
from knowledge.__main__ import main
from knowledge.faq import FaqIndex, import_faq, load_entries
from knowledge.retrieval import BM25Field, LsaField
from knowledge.store import KnowledgeImportError
from knowledge.textproc import sub_words, synonyms

ROOT = Path(__file__).resolve().parents[2]
DEMO_FAQ = ROOT / "knowledge" / "data" / "demo_faq.csv"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("faq")
    import_faq(DEMO_FAQ, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def demo_index(demo_dir: Path) -> FaqIndex:
    return FaqIndex.load(demo_dir)


def test_csv_round_trip_and_generated_ids(tmp_path: Path) -> None:
    src = tmp_path / "faq.csv"
    rows = "question,answer\n住民票はどこ？,市民課です。\n開庁時間は？,平日8時半からです。\n"
    src.write_text("\ufeff" + rows, encoding="utf-8")
    assert import_faq(src, tmp_path) == 2
    entries = load_entries(tmp_path)
    assert [(e.id, e.question, e.answer) for e in entries] == [
        ("1", "住民票はどこ？", "市民課です。"),
        ("2", "開庁時間は？", "平日8時半からです。"),
    ]


def test_json_corpus_form(tmp_path: Path) -> None:
    src = tmp_path / "corpus.json"
    src.write_text(json.dumps({"7": "Question: 犬の登録は？\nAnswer: 環境課です。\n"}, ensure_ascii=False))
    import_faq(src, tmp_path)
    [entry] = load_entries(tmp_path)
    assert (entry.id, entry.question, entry.answer) == ("7", "犬の登録は？", "環境課です。")


def test_shift_jis_csv(tmp_path: Path) -> None:
    src = tmp_path / "sjis.csv"
    src.write_bytes("question,answer,category\n粗大ごみは？,予約制です。,ごみ\n".encode("cp932"))
    import_faq(src, tmp_path)
    assert load_entries(tmp_path)[0].category == "ごみ"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        ("question,category\nA,B\n", "bad.csv", "missing column(s) answer"),
        ("question,answer\n住民票は？,\n", "empty.csv", "row 2: field 'answer' is empty"),
        ('{"1": "Question: x\\nAnswer: y", ', "bad.json", "invalid JSON"),
        ('{"5": "no answer marker"}', "nomark.json", "id '5'"),
        ("id,question,answer\n1,a,b\n1,c,d\n", "dup.csv", "duplicate id"),
    ],
)
def test_invalid_input_keeps_previous(
    tmp_path: Path, content: str, name: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import_faq(DEMO_FAQ, tmp_path)
    before = (tmp_path / "knowledge" / "faq.json").read_bytes()
    bad = tmp_path / name
    bad.write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeImportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_faq(bad, tmp_path)
    assert main(["--data-dir", str(tmp_path), "faq", "import", str(bad)]) == 2
    assert message.split(":")[0] in capsys.readouterr().err
    assert (tmp_path / "knowledge" / "faq.json").read_bytes() == before


def test_empty_index_when_nothing_imported(tmp_path: Path) -> None:
    index = FaqIndex.load(tmp_path)
    assert len(index) == 0 and index.search("住民票") == []
    assert not FaqIndex.is_confident([])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("住民票を取りたいんですけど、どこに行けばいいですか", "demo-001"),
        ("引っ越してきたら何日以内に届け出ればいい？", "demo-006"),
        ("マイナンバーカードのパスワードがわからなくなった", "demo-010"),
        ("仕事を辞めたので国保に加入したい", "demo-013"),
        ("庁舎は何時まで開いていますか", "demo-027"),
        ("蜂の巣を取ってほしい", "demo-030"),
    ],
)
def test_demo_paraphrases(demo_index: FaqIndex, query: str, expected: str) -> None:
    hits = demo_index.search(query, top_k=3)
    assert hits[0].id == expected, [(h.id, h.question) for h in hits]


def test_confidence_low_for_unrelated(demo_index: FaqIndex) -> None:
    assert not FaqIndex.is_confident(demo_index.search("宇宙ロケットの打ち上げ日程"))


def test_search_cli_output(demo_dir: Path) -> None:
    cmd = [sys.executable, "-m", "knowledge", "--data-dir", str(demo_dir), "faq", "search", "--top", "2"]
    out = subprocess.run([*cmd, "印鑑登録をしたい"], capture_output=True, text=True, check=True, cwd=ROOT)
    line = json.loads(out.stdout.strip())
    assert line["query"] == "印鑑登録をしたい" and len(line["results"]) == 2
    assert set(line["results"][0]) == {"id", "score", "question"} and line["results"][0]["id"] == "demo-003"
    assert line["results"][0]["score"] >= line["results"][1]["score"]
    assert "印鑑" in out.stdout  # ensure_ascii=False
    stdin = subprocess.run(cmd, input="粗大ごみ\n犬の登録\n", capture_output=True, text=True, check=True, cwd=ROOT)
    assert [json.loads(x)["query"] for x in stdin.stdout.splitlines()] == ["粗大ごみ", "犬の登録"]


# ---------------------------------------------------------------- stored index and retrieval parts


def test_import_stores_index_and_load_reuses_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import_faq(DEMO_FAQ, tmp_path)
    stored = tmp_path / "knowledge" / faq.INDEX_FILE
    assert stored.exists()
    with np.load(stored, allow_pickle=False) as npz:  # plain arrays, no pickle
        assert json.loads(str(npz["meta"]))["fields"]
    fresh = FaqIndex.load(tmp_path).search("印鑑登録をしたい", top_k=3)

    def no_build(entries: list) -> dict:
        raise AssertionError("index rebuilt although the stored one matches faq.json")

    monkeypatch.setattr(faq, "_build_fields", no_build)
    reloaded = FaqIndex.load(tmp_path).search("印鑑登録をしたい", top_k=3)
    assert [(h.id, h.score, h.confidence) for h in reloaded] == [(h.id, h.score, h.confidence) for h in fresh]


def test_stale_or_broken_index_is_rebuilt(tmp_path: Path) -> None:
    import_faq(DEMO_FAQ, tmp_path)
    stored = tmp_path / "knowledge" / faq.INDEX_FILE
    other = tmp_path / "other.csv"
    other.write_text("question,answer\n犬の登録はどこでできますか,動物愛護センターです。\n", encoding="utf-8")
    before = stored.read_bytes()
    # faq.json replaced behind the index's back (e.g. copied in by hand): the old index is stale
    faq_json = tmp_path / "knowledge" / "faq.json"
    import_faq(other, tmp_path / "elsewhere")
    faq_json.write_bytes((tmp_path / "elsewhere" / "knowledge" / "faq.json").read_bytes())
    stored.write_bytes(before)
    index = FaqIndex.load(tmp_path)
    assert len(index) == 1 and index.search("犬の登録")[0].question == "犬の登録はどこでできますか"
    assert stored.read_bytes() != before  # rewritten for the next load
    stored.write_bytes(b"not an npz file")
    assert FaqIndex.load(tmp_path).search("犬の登録")[0].answer == "動物愛護センターです。"


def test_bm25_and_lsa_fields_round_trip_through_arrays() -> None:
    docs = [["住民", "票", "発行"], ["犬", "登録"], ["住民", "税", "納付"]]
    bm25 = BM25Field(b=0.5).fit(docs)
    again = BM25Field.from_arrays(bm25.to_arrays())
    query = {"住民": 1.0, "納付": 0.5, "未知": 1.0}
    assert np.allclose(bm25.scores(query), again.scores(query)) and again.b == 0.5
    assert bm25.scores(query).argmax() == 2 and bm25.coverage(["住民", "票"], 0) == 1.0
    lsa = LsaField()  # too small a collection for a latent space: scores nothing, round-trips
    assert lsa.fit(docs).scores(query).size == 0
    assert LsaField.from_arrays(lsa.to_arrays()).scores(query).size == 0
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(150)]
    corpus = [list(rng.choice(words, size=12)) for _ in range(90)]
    latent = LsaField(dims=60).fit(corpus)
    probe = {t: 1.0 for t in corpus[3][:5]}
    scores = latent.scores(probe)
    assert scores.shape == (90,) and scores.argmax() == 3
    assert np.array_equal(LsaField.from_arrays(latent.to_arrays()).scores(probe), scores)


def test_synonyms_expand_query_words() -> None:
    table = synonyms()
    assert table.groups and table.digest
    extra = table.expand("粗大ゴミを出したい", sub_words("粗大ゴミを出したい"))
    assert "ごみ" in extra or "塵" in extra
    moved = table.expand("引っ越ししました", sub_words("引っ越ししました"))
    assert "転居" in moved and "転入" in moved
    assert table.expand("宇宙ロケット", sub_words("宇宙ロケット")) == {}
    views = faq.analyze_query("引っ越ししました")
    assert views["words"]["転居"] == pytest.approx(faq.SYNONYM_WEIGHT) and views["chars"]


def test_synonym_reaches_entry_written_differently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "faq.csv"
    src.write_text(
        "question,answer\n転居届の手続きについて,市内で住所が変わったら14日以内に届け出てください。\n"
        "犬の登録について,飼い始めたら30日以内に登録してください。\n",
        encoding="utf-8",
    )
    import_faq(src, tmp_path)
    index = FaqIndex.load(tmp_path)
    assert index.search("引っ越ししました", top_k=2)[0].question == "転居届の手続きについて"
    monkeypatch.setattr(faq, "SYNONYM_WEIGHT", 0.0)
    assert index.search("引っ越ししました", top_k=2) == []  # no word in common without the synonyms
