"""The procedure catalog: what each procedure is, where and when, what it costs and needs.

    catalog = Catalog.load(path)            # raises CatalogError naming the procedure and field
    proc = catalog.procedure("juminhyo")    # Procedure (KeyError if unknown)
    catalog.office_of(proc).where           # "区役所本庁舎1階 1〜3番窓口"
    catalog.related(proc)                   # the related procedures, in the order listed
    catalog.is_procedure_intent("pension")  # True: a procedure with an intent of its own

The data is the municipality's (`knowledge/data/procedures.yml` is the fictional デモ区); nothing
here knows a fee, a deadline or an office hour.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.catalog_checks import (  # the contract's intents and the checks live there
    CONTRACT_INTENTS,
    LIFE_EVENT_ANSWERS,
    REQUESTER_KINDS,
    URL_PREFIX,
    check_references,
    describe,
)
from knowledge.office_hours import OfficeHours
from knowledge.opening_hours import Opening, check_hours, office_hours_beside, resolve
from knowledge.strict_yaml import UniqueKeyLoader as _UniqueKeyLoader

PACKAGED_CATALOG = Path(__file__).resolve().parent / "data" / "procedures.yml"

__all__ = ["CONTRACT_INTENTS", "LIFE_EVENT_ANSWERS", "REQUESTER_KINDS", "URL_PREFIX", "Catalog", "CatalogError"]


class CatalogError(ValueError):
    """The catalog file is invalid; the message names the procedure (or block) and the field."""




class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Municipality(_Model):
    name: str
    fictional: bool = False
    notice: str = ""
    website: str = ""


class Hours(_Model):
    label: str = ""  # hours the data does not structure
    schedule: str | None = None  # a schedule of office_hours.yml: weekly hours, 第2・第4土曜, holidays
    note: str = ""  # said after the schedule's label


class Department(_Model):
    name: str


class Office(_Model):
    id: str = ""
    name: str
    building: str
    floor: str
    counter: str = ""
    hours: str  # id in `hours`
    department: str  # id in `departments`

    @property
    def where(self) -> str:
        return f"{self.building}{self.floor}" + (f" {self.counter}" if self.counter else "")


class Fee(_Model):
    label: str
    amount: int = Field(ge=0)  # yen; 0 = 無料
    amount_max: int | None = Field(default=None, ge=0)  # a range "200円〜2,000円" when it varies
    unit: str = ""
    per_copy: bool = False  # the fee a certificate form multiplies by the number of copies

    @property
    def text(self) -> str:
        if self.amount == 0 and self.amount_max is None:
            return f"{self.label} 無料"
        upper = f"〜{self.amount_max:,}円" if self.amount_max is not None else ""
        return f"{self.label} {self.unit}{self.amount:,}円{upper}"


class Channel(_Model):
    """Another way to do the procedure: online, by mail, at a convenience store."""

    text: str
    fee: int | None = Field(default=None, ge=0)
    hours: str | None = None  # id in `hours`
    documents: tuple[str, ...] = ()
    address: str = ""  # where to send it (by mail): 〒, address, office


class Requester(_Model):
    documents: tuple[str, ...]
    note: str = ""


class Option(_Model):
    id: str
    label: str
    note: str = ""


class CertificateRules(_Model):
    max_copies: int = Field(ge=1)
    requesters: dict[str, Requester]
    options: tuple[Option, ...] = ()
    new_fiscal_year_month: int | None = Field(default=None, ge=1, le=12)


class Payment(_Model):
    """When money is paid out (an allowance) or due (a tax): months and the day, as data."""

    months: tuple[int, ...] = Field(min_length=1)
    day: str  # "15日", "末日"
    label: str = ""  # how residents say the months ("偶数月"), when there is a common name
    note: str = ""

    @property
    def text(self) -> str:
        months = "・".join(f"{m}月" for m in self.months)
        when = f"{self.label}（{months}）" if self.label else months
        return f"{when}の{self.day}" + (f"。{self.note}" if self.note else "")


class Procedure(_Model):
    id: str = ""
    intent: bool = True  # False: a sub-procedure listed in checklists, with no intent of its own
    title: str
    short: str = ""  # for buttons (LINE quick replies are at most 20 characters)
    lead: str = ""  # the first sentence said, when the general one does not fit
    summary: str
    who: str
    documents: tuple[str, ...]
    fees: tuple[Fee, ...] = ()
    office: str  # id in `offices`
    department: str  # id in `departments`
    deadline: str = ""
    online: Channel | None = None
    mail: Channel | None = None
    convenience: Channel | None = None
    notes: tuple[str, ...] = ()
    free_consultation: bool = False
    confidential: bool = False
    related: tuple[str, ...] = ()
    url: str
    certificate: CertificateRules | None = None
    payment: Payment | None = None  # payment (or due) months and day
    reissue: Channel | None = None  # what to do after losing the card or ticket (and its fee)

    @property
    def name(self) -> str:
        return self.short or self.title

    @property
    def copy_fee(self) -> Fee | None:
        return next((f for f in self.fees if f.per_copy), None)


class CollectionArea(_Model):
    name: str
    towns: tuple[str, ...]
    days: dict[str, str]  # 分別区分 -> 収集日


class WasteCollection(_Model):
    note: str
    areas: tuple[CollectionArea, ...]
    by_request: dict[str, str] = Field(default_factory=dict)


class LifeEventStep(_Model):
    procedure: str
    when: str | None = None
    unless: str | None = None
    note: str = ""
    deadline: str | None = None  # replaces the procedure's deadline for this event
    documents: tuple[str, ...] | None = None  # replaces the procedure's documents

    def applies(self, answers: dict[str, Any]) -> bool:
        if self.when is not None and not answers.get(self.when):
            return False
        return not (self.unless is not None and answers.get(self.unless))


class LifeEvent(_Model):
    title: str
    steps: tuple[LifeEventStep, ...]


class CatalogData(_Model):
    municipality: Municipality
    hours: dict[str, Hours]
    departments: dict[str, Department]
    offices: dict[str, Office]
    procedures: dict[str, Procedure]
    waste_collection: WasteCollection | None = None
    life_events: dict[str, LifeEvent] = Field(default_factory=dict)


class Catalog:
    """The validated catalog, frozen: read by attribute (`catalog.procedure("juminhyo").fees`),
    never changed in place (its mappings are read-only; a new version is a new `Catalog`)."""

    __slots__ = (
        "data",
        "source",
        "municipality",
        "offices",
        "procedures",
        "waste_collection",
        "life_events",
        "_intents",
        "_openings",
    )

    data: CatalogData
    source: str
    municipality: Municipality
    offices: Mapping[str, Office]
    procedures: Mapping[str, Procedure]
    waste_collection: WasteCollection | None
    life_events: Mapping[str, LifeEvent]
    _intents: frozenset[str]
    _openings: Mapping[str, Opening]

    def __init__(self, data: CatalogData, source: str = "", office_hours: OfficeHours | None = None) -> None:
        hours = office_hours or office_hours_beside(Path(source) if source else None)
        procedures = {k: p.model_copy(update={"id": k}) for k, p in data.procedures.items()}
        values: dict[str, Any] = {
            "data": data,
            "source": source,
            "municipality": data.municipality,
            "offices": MappingProxyType({k: o.model_copy(update={"id": k}) for k, o in data.offices.items()}),
            "procedures": MappingProxyType(procedures),
            "waste_collection": data.waste_collection,
            "life_events": MappingProxyType(dict(data.life_events)),
            "_intents": frozenset(k for k, p in procedures.items() if p.intent),
            "_openings": MappingProxyType(
                {k: resolve(hours, h.schedule, h.note) for k, h in data.hours.items() if h.schedule}
            ),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the catalog is frozen (load a new one instead of setting {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("the catalog is frozen")

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path = PACKAGED_CATALOG) -> Catalog:
        try:
            raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506
        except yaml.YAMLError as exc:
            raise CatalogError(f"{path}: not valid YAML: {exc}") from exc
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "", office_hours: OfficeHours | None = None) -> Catalog:
        if not isinstance(raw, dict):
            raise CatalogError(f"{source or 'catalog'}: the top level must be a mapping")
        try:
            data = CatalogData.model_validate(raw)
        except ValidationError as exc:
            raise CatalogError(describe(exc, source)) from exc
        hours = office_hours or office_hours_beside(Path(source) if source else None)
        problems = check_references(data) + check_hours(data.hours, hours)
        if problems:
            raise CatalogError(f"{source or 'catalog'}: " + "; ".join(problems))
        return cls(data, source, hours)

    # -- queries -------------------------------------------------------------------------
    def procedure(self, intent: str) -> Procedure:
        return self.procedures[intent]

    def get(self, intent: str) -> Procedure | None:
        return self.procedures.get(intent)

    @property
    def intents(self) -> list[str]:
        return [k for k, p in self.procedures.items() if p.intent]

    def is_procedure_intent(self, intent: str) -> bool:
        """A procedure of this catalog with an intent of its own (not a checklist sub-procedure)."""
        return intent in self._intents

    def office_of(self, procedure: Procedure) -> Office:
        return self.offices[procedure.office]

    def department_of(self, procedure: Procedure) -> Department:
        return self.data.departments[procedure.department]

    def hours_label(self, hours_id: str) -> str:
        opening = self._openings.get(hours_id)
        return opening.label if opening is not None else self.data.hours[hours_id].label

    def opening(self, hours_id: str) -> Opening | None:
        """The weekly structure of these hours (office_hours.yml), None when only a label."""
        return self._openings.get(hours_id)

    def office_hours(self, procedure: Procedure) -> str:
        return self.hours_label(self.office_of(procedure).hours)

    def related(self, procedure: Procedure) -> list[Procedure]:
        return [self.procedures[r] for r in procedure.related]

    def life_event(self, name: str) -> LifeEvent:
        return self.life_events[name]


def load_catalog(data_dir: Path) -> Catalog:
    """The municipality's catalog at ``data_dir/knowledge/procedures.yml``, else the packaged demo."""
    local = Path(data_dir) / "knowledge" / "procedures.yml"
    return Catalog.load(local if local.exists() else PACKAGED_CATALOG)
