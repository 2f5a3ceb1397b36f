"""The municipality's knowledge as one typed, frozen snapshot (issue 11 item 6).

`Knowledge` holds what `knowledge/loader.py` loaded and validated at start: the procedure catalog
(`knowledge/catalog.py`: frozen models from `procedures.yml`), the FAQ, the ごみ分別 list, office
hours, the reservable services, the report categories, the outreach rules and the English texts.
It is read by attribute (`services.knowledge.catalog`), never changed in place: loading again (or
a test giving another catalog) swaps the whole snapshot (`KnowledgeBase.swap`), so a turn never
sees half of two versions.

`KnowledgeBase` is what the engine's services hold. Its `get("catalog")` / `["catalog"]` /
`["catalog"] = …` are the old string-keyed accessors, kept for the modules not yet moved to
attributes; every key is a field of `Knowledge` (an unknown key is an error, not a new entry).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from knowledge.catalog import Catalog
    from knowledge.english import EnglishTexts
    from knowledge.faq import FaqIndex
    from knowledge.office_hours import OfficeHours
    from knowledge.outreach_rules import OutreachBook
    from knowledge.report_data import ReportData
    from knowledge.services_data import ServicesData
    from knowledge.waste import WasteGuide

T = TypeVar("T")

# staff's canned replies by department id (bot/staff/work.py loads them on first use)
CannedReplies = dict[str, list[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class Knowledge:
    """One loaded version of everything the bot knows; None: not loaded (tests, tools)."""

    catalog: Catalog | None = None
    faq: FaqIndex | None = None
    waste: WasteGuide | None = None
    office_hours: OfficeHours | None = None
    services: ServicesData | None = None  # reservations: 粗大ごみ, 一時預かり, 施設, 介護の相談
    reports: ReportData | None = None  # 通報: categories, towns
    outreach: OutreachBook | None = None  # notices (CONTRACTS §7)
    english: EnglishTexts | None = None  # CONTRACTS §9
    staff_replies: CannedReplies | None = None


KEYS = frozenset(f.name for f in fields(Knowledge))


class KnowledgeBase:
    """The current `Knowledge` snapshot, read by attribute; swapped whole, never edited."""

    __slots__ = ("current",)

    def __init__(self, current: Knowledge | None = None) -> None:
        self.current = current or Knowledge()

    def swap(self, knowledge: Knowledge) -> None:
        self.current = knowledge

    def replace(self, **changes: Any) -> None:
        """A new snapshot with these fields replaced (`replace(staff_replies=…)`)."""
        self.current = replace(self.current, **changes)

    # -- typed reads ---------------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog | None:
        return self.current.catalog

    @property
    def faq(self) -> FaqIndex | None:
        return self.current.faq

    @property
    def waste(self) -> WasteGuide | None:
        return self.current.waste

    @property
    def office_hours(self) -> OfficeHours | None:
        return self.current.office_hours

    @property
    def services(self) -> ServicesData | None:
        return self.current.services

    @property
    def reports(self) -> ReportData | None:
        return self.current.reports

    @property
    def outreach(self) -> OutreachBook | None:
        return self.current.outreach

    @property
    def english(self) -> EnglishTexts | None:
        return self.current.english

    @property
    def staff_replies(self) -> CannedReplies | None:
        return self.current.staff_replies

    # -- the old string-keyed accessors (compatibility) ----------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        value = getattr(self.current, _known(key))
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        value = getattr(self.current, _known(key))
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        """A new snapshot with `key` replaced (a test's catalog, the staff replies cache)."""
        self.replace(**{_known(key): value})

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in KEYS and getattr(self.current, key) is not None

    def clear(self) -> None:
        self.current = Knowledge()


def required(value: T | None, name: str) -> T:
    """A piece of knowledge a caller cannot do without (`required(knowledge.outreach, "outreach")`)."""
    if value is None:
        raise LookupError(f"knowledge {name!r} is not loaded")
    return value


def _known(key: str) -> str:
    if key not in KEYS:
        raise KeyError(f"{key!r} is no part of the knowledge (known: {', '.join(sorted(KEYS))})")
    return key
