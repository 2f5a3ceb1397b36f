"""Load the municipality's knowledge (FAQ, ごみ分別 list, procedure catalog) into the services.

Each piece comes from ``settings.data_dir / "knowledge"`` where the municipality imported its own
(``python -m knowledge faq import`` / ``waste import``, or a ``procedures.yml`` put there); when
nothing was imported, the packaged fictional デモ区 data is used, so the demo works out of the box.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

from knowledge.base import Knowledge, KnowledgeBase
from knowledge.catalog import load_catalog
from knowledge.english import EnglishTexts
from knowledge.faq import FaqIndex, parse_faq_file
from knowledge.office_hours import load_office_hours
from knowledge.outreach_rules import load_rules, rules_path
from knowledge.report_data import load_report_data
from knowledge.services_data import load_services
from knowledge.waste import WasteGuide, parse_waste_csv

log = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "data"
DEMO_FAQ = DEMO_DIR / "demo_faq.csv"
DEMO_WASTE = DEMO_DIR / "demo_waste.csv"


class _Settings(Protocol):
    @property
    def data_dir(self) -> Path: ...


class KnowledgeHolder(Protocol):
    """What the knowledge is loaded into (the engine's services): no import of the engine here."""

    @property
    def settings(self) -> _Settings: ...

    knowledge: KnowledgeBase


def load_knowledge(services: KnowledgeHolder) -> None:
    """Load and validate everything, then swap it in whole (`knowledge/base.py`)."""
    data_dir = Path(services.settings.data_dir)
    catalog, faq, waste = load_catalog(data_dir), load_faq(data_dir), load_waste(data_dir)
    loaded = Knowledge(
        catalog=catalog,
        faq=faq,
        waste=waste,
        office_hours=load_office_hours(data_dir, set(catalog.data.departments)),
        services=load_services(),  # reservations: 粗大ごみ, 一時預かり, 施設, 介護の相談
        reports=load_report_data(data_dir, catalog),  # 通報: categories, towns
        outreach=load_rules(rules_path(data_dir)),  # notices (CONTRACTS §7)
        english=EnglishTexts.load(data_dir),  # CONTRACTS §9 (knowledge/english.py)
    )
    services.knowledge.swap(loaded)
    log.info(
        "knowledge loaded",
        extra={
            "catalog": catalog.source,
            "procedures": len(catalog.procedures),
            "faq_entries": len(faq),
            "waste_items": len(waste),
        },
    )


def load_faq(data_dir: Path) -> FaqIndex:
    """The imported FAQ with its stored index (built at import), else the packaged demo FAQ."""
    index = FaqIndex.load(data_dir)
    if len(index) == 0:
        index = FaqIndex(parse_faq_file(DEMO_FAQ))
    return index


def load_waste(data_dir: Path) -> WasteGuide:
    guide = WasteGuide.load(data_dir)
    if len(guide) == 0:
        guide = WasteGuide(parse_waste_csv(DEMO_WASTE))
    return guide
