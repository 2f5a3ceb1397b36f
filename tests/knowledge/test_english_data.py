"""The English data files (knowledge/english.py): validated with the file, entry and field named;
every overlay id is a catalog procedure; the ごみ names point at items of the list."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.catalog import PACKAGED_CATALOG, Catalog
from knowledge.english import EnglishDataError, EnglishTexts
from knowledge.loader import DEMO_WASTE
from knowledge.waste import WasteGuide, parse_waste_csv


def test_packaged_english_data_matches_the_catalog_and_the_waste_list() -> None:
    texts = EnglishTexts.load()
    catalog = Catalog.load(PACKAGED_CATALOG)
    assert set(texts.procedures) <= set(catalog.procedures)
    assert {p for p in catalog.intents if catalog.is_procedure_intent(p)} <= set(texts.procedures)
    guide = WasteGuide(parse_waste_csv(DEMO_WASTE))
    assert [en for en, ja in texts.waste_items.items() if guide.lookup(ja) is None] == []


def test_a_bad_overlay_names_file_procedure_and_field(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "procedures_en.yml").write_text("juminhyo:\n  summary: x\n", encoding="utf-8")
    with pytest.raises(EnglishDataError, match=r"procedures_en\.yml.*juminhyo.*'name'"):
        EnglishTexts.load(tmp_path)


def test_glossary_puts_the_catalog_hours_in_english_words() -> None:
    texts = EnglishTexts.load()
    catalog = Catalog.load(PACKAGED_CATALOG)
    hours = texts.glossed(catalog.office_hours(catalog.procedure("juminhyo")))
    assert "8:30" in hours and "weekdays" in hours
