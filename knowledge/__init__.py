"""The municipality's own knowledge: FAQ retrieval and ごみ分別 (see CONTRACTS section 5)."""

from knowledge.faq import FaqEntry, FaqHit, FaqIndex, import_faq
from knowledge.store import KnowledgeImportError, default_data_dir
from knowledge.waste import WasteAnswer, WasteGuide, WasteItem, extract_item, import_waste

__all__ = [
    "FaqEntry",
    "FaqHit",
    "FaqIndex",
    "KnowledgeImportError",
    "WasteAnswer",
    "WasteGuide",
    "WasteItem",
    "default_data_dir",
    "extract_item",
    "import_faq",
    "import_waste",
]
