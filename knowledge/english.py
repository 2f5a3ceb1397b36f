"""English words for the municipality's data (CONTRACTS §9): the message catalog, the procedure
overlay keyed by procedure id, and English names of common ごみ items.

    texts = EnglishTexts.load(data_dir)        # raises EnglishDataError naming the file, row, field
    texts.message("greet", name="デモ区")      # a chat text
    texts.procedure("juminhyo")                # ProcedureEn or None (then the Japanese title is shown)
    texts.glossed("平日 8:30〜17:15")          # "weekdays 8:30-17:15": the Japanese data, in English words
    texts.form_text("common.confirm")          # the booking forms' catalog (forms_en.yml)
    texts.service_name("facilities.slots.am")  # English names of services.yml's ids (services_en.yml)

Only words live in these files. Fees, offices and hours are read from procedures.yml by the caller,
so a fee changed there is changed in every language. A file at `$DATA_DIR/knowledge/<name>`
replaces the packaged one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PACKAGED = Path(__file__).resolve().parent / "data"
FILES = ("messages_en.yml", "procedures_en.yml", "waste_en.yml", "forms_en.yml", "services_en.yml")
REQUIRED_MESSAGES = (
    *("greet", "capabilities", "fallback", "stuck", "out_of_scope", "handoff_requested", "handoff_stuck"),
    *("handoff_sensitive", "dv", "booking_in_japanese", "faq_note", "other_language", "waste_ask"),
)
_PROCEDURE_FIELDS = {"name", "summary", "who", "documents", "convenience", "online", "mail", "notes"}
_PROCEDURE_FIELDS |= {"proxy", "deadline", "reissue"}  # words for facet answers (facts stay in procedures.yml)


class EnglishDataError(ValueError):
    """An English data file is invalid; the message names the file, the entry and the field."""


@dataclass(frozen=True)
class ProcedureEn:
    id: str
    name: str
    summary: str
    who: str = ""
    documents: tuple[str, ...] = ()
    convenience: str = ""
    online: str = ""
    mail: str = ""
    notes: tuple[str, ...] = ()
    proxy: str = ""
    deadline: str = ""
    reissue: str = ""


@dataclass
class EnglishTexts:
    messages: dict[str, Any]
    procedures: dict[str, ProcedureEn] = field(default_factory=dict)
    waste_items: dict[str, str] = field(default_factory=dict)  # English name -> Japanese list name
    forms: dict[str, Any] = field(default_factory=dict)  # the booking forms' catalog (forms_en.yml)
    services: dict[str, Any] = field(default_factory=dict)  # names of services.yml (services_en.yml)

    @classmethod
    def load(cls, data_dir: Path | None = None) -> EnglishTexts:
        docs = {name: _read(_path(name, data_dir)) for name in FILES}
        messages = docs["messages_en.yml"]
        missing = [k for k in REQUIRED_MESSAGES if not isinstance(messages.get(k), str)]
        if missing:
            raise EnglishDataError(f"messages_en.yml: missing text(s): {', '.join(missing)}")
        procedures = {pid: _procedure(pid, row) for pid, row in docs["procedures_en.yml"].items()}
        waste = {str(k).lower(): str(v) for k, v in docs["waste_en.yml"].items()}
        return cls(messages, procedures, waste, docs["forms_en.yml"], docs["services_en.yml"])

    def message(self, key: str, **values: Any) -> str:
        text = str(self.messages.get(key, ""))
        return text.format(**values) if values else text

    def label(self, key: str, **values: Any) -> str:
        text = str((self.messages.get("labels") or {}).get(key, key))
        return text.format(**values) if values else text

    def procedure(self, procedure_id: str) -> ProcedureEn | None:
        return self.procedures.get(procedure_id)

    def glossed(self, japanese: str) -> str:
        """`japanese` with the glossary's words in English (longest first); digits stay as written."""
        glossary: dict[str, str] = self.messages.get("glossary") or {}
        text = japanese
        for word in sorted(glossary, key=len, reverse=True):
            text = text.replace(word, str(glossary[word]))
        return " ".join(text.split())

    def form_text(self, key: str) -> Any:
        """The forms catalog's entry at a dotted `key` ("childcare_temporary.slots.age.question")."""
        return _dotted(self.forms, key)

    def service_name(self, key: str) -> Any:
        """services_en.yml's entry at a dotted `key` ("childcare.facilities.himawari")."""
        return _dotted(self.services, key)

    def waste_category(self, category: str) -> str:
        names: dict[str, str] = self.messages.get("waste_categories") or {}
        return names.get(category, category)

    def menu(self) -> list[tuple[str, str]]:
        return [(str(title), str(intent)) for title, intent in self.messages.get("menu") or []]


def _dotted(doc: dict[str, Any], key: str) -> Any:
    node: Any = doc
    for part in key.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _path(name: str, data_dir: Path | None) -> Path:
    local = data_dir / "knowledge" / name if data_dir is not None else None
    return local if local is not None and local.is_file() else PACKAGED / name


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise EnglishDataError(f"{path.name}: cannot read ({exc})") from exc
    if not isinstance(doc, dict):
        raise EnglishDataError(f"{path.name}: must be a mapping")
    return doc


def _procedure(pid: str, row: Any) -> ProcedureEn:
    where = f"procedures_en.yml: procedure {pid!r}"
    if not isinstance(row, dict):
        raise EnglishDataError(f"{where}: must be a mapping")
    unknown = set(row) - _PROCEDURE_FIELDS
    if unknown:
        raise EnglishDataError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    for key in ("name", "summary"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise EnglishDataError(f"{where}: field {key!r} is required")
    documents = row.get("documents") or []
    if not isinstance(documents, list):
        raise EnglishDataError(f"{where}: field 'documents' must be a list")
    return ProcedureEn(
        id=pid,
        name=row["name"],
        summary=row["summary"],
        who=str(row.get("who") or ""),
        documents=tuple(str(d) for d in documents),
        convenience=str(row.get("convenience") or ""),
        online=str(row.get("online") or ""),
        mail=str(row.get("mail") or ""),
        notes=tuple(str(n) for n in row.get("notes") or []),
        proxy=str(row.get("proxy") or ""),
        deadline=str(row.get("deadline") or ""),
        reissue=str(row.get("reissue") or ""),
    )
