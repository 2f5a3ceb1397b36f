"""report_issue on held-out messages (none of them in nlu/data/reports.yml), its near misses in
ごみ (waste_sorting, bulky_waste) kept apart, and the category understood from the words."""

from __future__ import annotations

import pytest

from knowledge.report_data import load_report_data

REPORTS = {
    "家の近くの道に大きな穴があります": "road",
    "公園のシーソーが壊れています": "park",
    "うちの前の街灯が点かなくなった": "streetlight",
    "山道にタイヤが大量に捨てられてる": "dumping",
    "道路でハクビシンが死んでいる": "animal",
    "カラスがごみ袋を破って散らかしてる": "crows_pests",
    "歩道橋の階段が欠けている": "road",
    "道路の陥没を見つけた": "road",
}
NEAR_MISSES = {
    "粗大ごみを出したい": "bulky_waste",
    "ソファを捨てたい": "bulky_waste",
    "ごみの収集日を教えて": "waste_sorting",
    "燃えるごみは何曜日": "waste_sorting",
    "電池は何ごみ": "waste_sorting",
}


@pytest.mark.parametrize("text", sorted(REPORTS))
def test_held_out_reports_are_report_issue_with_their_category(nlu_engine, text: str) -> None:  # type: ignore[no-untyped-def]
    assert nlu_engine.parse(text)["intent"]["name"] == "report_issue"
    category = load_report_data().category_in(text)
    assert category is not None and category.id == REPORTS[text]


@pytest.mark.parametrize("text", sorted(NEAR_MISSES))
def test_waste_questions_stay_waste(nlu_engine, text: str) -> None:  # type: ignore[no-untyped-def]
    assert nlu_engine.parse(text)["intent"]["name"] == NEAR_MISSES[text]


def test_every_category_names_a_department_of_the_catalog_and_towns_match_the_areas() -> None:
    from knowledge.catalog import Catalog
    from knowledge.services_data import load_services

    catalog = Catalog.load()
    data = load_report_data(None, catalog)
    assert {c.name for c in data.categories} == {
        "道路・歩道",
        "公園・遊具",
        "街灯",
        "不法投棄",
        "動物の死骸",
        "ごみ集積所",
        "カラス・害虫",
        "その他",
    }
    assert all(c.department in catalog.data.departments for c in data.categories)
    towns = {t for area in load_services().areas.values() for t in area.towns}
    assert {t.name for t in data.places.towns} == towns
    assert all(data.places.inside(*t.center) for t in data.places.towns)


def test_a_bad_data_file_is_named_with_its_row_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from knowledge.catalog import Catalog
    from knowledge.report_data import ReportDataError

    folder = tmp_path / "knowledge"
    folder.mkdir()
    (folder / "report_categories.yml").write_text(
        "categories:\n  road:\n    name: 道路\n    department: nowhere\nfallback: road\noutside: x\n", encoding="utf-8"
    )
    with pytest.raises(ReportDataError, match=r"report_categories.yml: categories.road.department"):
        load_report_data(tmp_path, Catalog.load())
