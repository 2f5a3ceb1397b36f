"""通報 data: the categories (with their departments) and the municipality's towns (町丁目).

    data = load_report_data(data_dir, catalog)   # ReportDataError names the file, row and field
    data.category_in("公園のブランコが壊れてる")   # Category(id="park", ...)
    data.places.match("さくらだい2-3")            # PlaceMatch(town="桜台", ...)
    data.places.inside(35.65, 139.66)             # within the boundary?

Both files are the municipality's (`knowledge/data/report_categories.yml`, `towns.yml`, each
replaced by a file of the same name under `$DATA_DIR/knowledge/`); nothing here knows a town.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from knowledge.places import Places, Town

DATA = Path(__file__).resolve().parent / "data"
CATEGORIES_FILE = "report_categories.yml"
TOWNS_FILE = "towns.yml"


class ReportDataError(ValueError):
    """A 通報 data file is invalid; the message names the file, the row and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(_Model):
    id: str = ""
    name: str = Field(min_length=1)
    department: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()


class CategoriesFile(_Model):
    categories: dict[str, Category]
    fallback: str
    urgent: str = ""
    outside: str = Field(min_length=1)
    received: str = ""


class TownEntry(_Model):
    kana: str = Field(min_length=1)
    chome: int = Field(ge=0, le=20)
    center: tuple[float, float]

    @field_validator("center")
    @classmethod
    def _on_earth(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
            raise ValueError("must be [latitude, longitude]")
        return value


class TownsFile(_Model):
    municipality: str = Field(min_length=1)
    boundary: list[tuple[float, float]] = Field(min_length=3)
    towns: dict[str, TownEntry] = Field(min_length=1)


class _Catalog(Protocol):
    @property
    def data(self) -> Any: ...


class ReportData:
    def __init__(self, categories: CategoriesFile, places: Places) -> None:
        self.categories = [c.model_copy(update={"id": k}) for k, c in categories.categories.items()]
        self._by_id = {c.id: c for c in self.categories}
        self.fallback = self._by_id[categories.fallback]
        self.urgent = categories.urgent
        self.outside = categories.outside
        self.received = categories.received
        self.places = places

    def category(self, category_id: str) -> Category | None:
        return self._by_id.get(category_id)

    def category_in(self, text: str) -> Category | None:
        """The first category (in file order) one of whose keywords `text` contains."""
        text = unicodedata.normalize("NFKC", text)
        for category in self.categories:
            if any(unicodedata.normalize("NFKC", k) in text for k in category.keywords):
                return category
        return None


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReportDataError(f"{path}: cannot be read as YAML: {exc}") from exc


def _validated(model: type[_Model], raw: Any, path: Path) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ReportDataError(f"{path}: {where}: {first['msg']}") from None


def _pick(data_dir: Path | None, name: str) -> Path:
    local = Path(data_dir) / "knowledge" / name if data_dir is not None else None
    return local if local is not None and local.exists() else DATA / name


def load_report_data(data_dir: Path | None = None, catalog: _Catalog | None = None) -> ReportData:
    cat_path, towns_path = _pick(data_dir, CATEGORIES_FILE), _pick(data_dir, TOWNS_FILE)
    categories: CategoriesFile = _validated(CategoriesFile, _read(cat_path), cat_path)
    if categories.fallback not in categories.categories:
        raise ReportDataError(f"{cat_path}: fallback: {categories.fallback!r} is not a category")
    if catalog is not None:
        known = set(catalog.data.departments)
        for key, category in categories.categories.items():
            if category.department not in known:
                raise ReportDataError(
                    f"{cat_path}: categories.{key}.department: {category.department!r} is not a department"
                    " of the procedure catalog (departments: in procedures.yml)"
                )
    towns: TownsFile = _validated(TownsFile, _read(towns_path), towns_path)
    places = Places(
        municipality=towns.municipality,
        boundary=list(towns.boundary),
        towns=[Town(name=k, kana=t.kana, chome=t.chome, center=t.center) for k, t in towns.towns.items()],
    )
    return ReportData(categories, places)
