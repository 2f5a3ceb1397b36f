"""Knowledge as one typed, frozen snapshot (knowledge/base.py) and a frozen catalog: read by
attribute, swapped whole, never changed in place; the old string keys still read the same."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from knowledge.base import Knowledge, KnowledgeBase, required
from knowledge.catalog import Catalog
from knowledge.english import EnglishTexts
from knowledge.faq import FaqIndex
from knowledge.loader import load_knowledge
from knowledge.office_hours import OfficeHours
from knowledge.waste import WasteGuide


def test_the_catalog_is_frozen() -> None:
    catalog = Catalog.load()
    with pytest.raises(AttributeError, match="frozen"):
        catalog.procedures = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        catalog.procedures["juminhyo"] = catalog.procedure("koseki")  # type: ignore[index]
    with pytest.raises(ValidationError):
        catalog.procedure("juminhyo").title = "別の名前"  # type: ignore[misc]
    assert catalog.procedure("juminhyo").id == "juminhyo" and catalog.is_procedure_intent("juminhyo")


def test_loaded_knowledge_is_read_by_attribute(tmp_path: Path) -> None:
    holder = SimpleNamespace(settings=SimpleNamespace(data_dir=tmp_path), knowledge=KnowledgeBase())
    load_knowledge(holder)  # type: ignore[arg-type]
    knowledge = holder.knowledge
    assert isinstance(knowledge.catalog, Catalog) and isinstance(knowledge.faq, FaqIndex)
    assert isinstance(knowledge.waste, WasteGuide) and isinstance(knowledge.office_hours, OfficeHours)
    assert isinstance(knowledge.english, EnglishTexts)
    assert knowledge.services is not None and knowledge.reports is not None and knowledge.outreach is not None
    assert knowledge.get("catalog") is knowledge.catalog and knowledge["faq"] is knowledge.faq  # the old keys
    with pytest.raises(AttributeError):
        knowledge.current.catalog = None  # type: ignore[misc]  # a snapshot is frozen


def test_a_new_version_is_swapped_in_whole() -> None:
    first, second = Catalog.load(), Catalog.load()
    knowledge = KnowledgeBase(Knowledge(catalog=first))
    seen_by_a_turn = knowledge.current
    knowledge["catalog"] = second  # the old accessor: a new snapshot, not an edit
    assert knowledge.catalog is second and seen_by_a_turn.catalog is first
    knowledge.replace(staff_replies={"all": []})
    assert knowledge.staff_replies == {"all": []} and knowledge.catalog is second


def test_unknown_or_missing_knowledge_is_an_error_not_a_new_entry() -> None:
    knowledge = KnowledgeBase()
    assert knowledge.get("catalog") is None and "catalog" not in knowledge
    with pytest.raises(KeyError):
        knowledge["catalog"]
    with pytest.raises(KeyError, match="no part of the knowledge"):
        knowledge["recipes"] = {}
    with pytest.raises(LookupError, match="outreach"):
        required(knowledge.outreach, "outreach")
