"""Municipality FAQ: import (CSV / localgovFAQ JSON), storage and Japanese retrieval.

    index = FaqIndex.load(data_dir)
    hits = index.search("戸籍謄本の手数料は？", top_k=5)
    if index.is_confident(hits): answer(hits[0].answer) else: offer_a_person()
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.retrieval import BM25Field, FusedRanker, LsaField
from knowledge.store import (
    FAQ_FILE,
    KnowledgeImportError,
    knowledge_dir,
    read_json,
    read_text_file,
    write_json_atomic,
)
from knowledge.textproc import char_ngrams, sub_words

# Field weights and confidence threshold, tuned on the even-id half of localgovFAQ only.
FIELD_WEIGHTS = {"question": 0.5, "document": 1.0, "question_chars": 0.5, "latent": 0.25}
CONFIDENCE_THRESHOLD = 0.55


@dataclass(frozen=True)
class FaqEntry:
    id: str
    question: str
    answer: str
    category: str = ""


@dataclass(frozen=True)
class FaqHit:
    id: str
    score: float
    question: str
    answer: str
    category: str
    confidence: float = 0.0

    @property
    def confident(self) -> bool:
        """True when the bot may answer with this hit rather than offer a person."""
        return self.confidence >= CONFIDENCE_THRESHOLD


# ---------------------------------------------------------------- parsing and validation


def parse_faq_file(path: Path) -> list[FaqEntry]:
    """Entries of a CSV (question, answer[, category, id]) or corpus-style JSON file."""
    text = read_text_file(path)
    if Path(path).suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return parse_faq_json(text)
    return parse_faq_csv(text)


def parse_faq_json(text: str) -> list[FaqEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeImportError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise KnowledgeImportError("JSON must be a non-empty object mapping ids to 'Question: ...\\nAnswer: ...'")
    entries = []
    for key, value in data.items():
        if not isinstance(value, str) or "Answer:" not in value:
            raise KnowledgeImportError(f"id {key!r}: value must be a string 'Question: ...\\nAnswer: ...'")
        question, answer = value.split("Answer:", 1)
        question = question.strip().removeprefix("Question:").strip()
        entries.append(_checked(str(key), question, answer.strip(), "", f"id {key!r}"))
    return entries


def parse_faq_csv(text: str) -> list[FaqEntry]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [col for col in ("question", "answer") if col not in header]
    if missing:
        raise KnowledgeImportError(f"CSV header: missing column(s) {', '.join(missing)} (found: {header})")
    reader.fieldnames = header
    entries = []
    for rowno, row in enumerate(reader, start=2):
        if row.get(None):
            raise KnowledgeImportError(f"row {rowno}: more fields than header columns")
        cell = {col: (row.get(col) or "").strip() for col in ("id", "question", "answer", "category")}
        entry_id = cell["id"] or str(len(entries) + 1)
        entries.append(_checked(entry_id, cell["question"], cell["answer"], cell["category"], f"row {rowno}"))
    if not entries:
        raise KnowledgeImportError("CSV has no entries")
    return entries


def _checked(entry_id: str, question: str, answer: str, category: str, where: str) -> FaqEntry:
    if not question:
        raise KnowledgeImportError(f"{where}: field 'question' is empty")
    if not answer:
        raise KnowledgeImportError(f"{where}: field 'answer' is empty")
    return FaqEntry(entry_id, question, answer, category)


def import_faq(path: Path, data_dir: Path) -> int:
    """Validate ``path`` and replace the stored FAQ atomically; returns the entry count."""
    entries = parse_faq_file(path)
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise KnowledgeImportError(f"id {entry.id!r}: duplicate id")
        seen.add(entry.id)
    payload = {"version": 1, "source": Path(path).name, "entries": [asdict(e) for e in entries]}
    write_json_atomic(knowledge_dir(data_dir) / FAQ_FILE, payload)
    return len(entries)


def load_entries(data_dir: Path) -> list[FaqEntry]:
    data = read_json(knowledge_dir(data_dir) / FAQ_FILE)
    return [FaqEntry(**e) for e in data["entries"]] if data else []


# ---------------------------------------------------------------- retrieval


class FaqIndex:
    """BM25 over Sudachi short-unit normalized forms (question, question+answer), question
    character bigrams and an LSA similarity, fused with weights tuned on localgovFAQ (even ids)."""

    def __init__(self, entries: list[FaqEntry]) -> None:
        self.entries = entries
        questions = [e.question for e in entries]
        documents = [f"{e.question} {e.category} {e.answer}" for e in entries]
        self._document = BM25Field(sub_words).fit(documents)
        fields = {
            "question": BM25Field(sub_words).fit(questions),
            "document": self._document,
            "question_chars": BM25Field(char_ngrams).fit(questions),
            "latent": LsaField(sub_words).fit([f"{q} {d}" for q, d in zip(questions, documents, strict=True)]),
        }
        self._ranker = FusedRanker(fields, FIELD_WEIGHTS)

    @classmethod
    def load(cls, data_dir: Path) -> FaqIndex:
        """The index of the imported FAQ (empty when nothing was imported)."""
        return cls(load_entries(data_dir))

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, top_k: int = 5) -> list[FaqHit]:
        """Best entries for ``query``, best first; only entries with a positive score."""
        if not self.entries or not query.strip():
            return []
        scores = self._ranker.scores(query, len(self.entries))
        order = np.argsort(-scores, kind="stable")[:top_k]
        return [self._hit(query, int(i), float(scores[i]), rank) for rank, i in enumerate(order) if scores[i] > 0]

    def _hit(self, query: str, i: int, score: float, rank: int) -> FaqHit:
        entry = self.entries[i]
        confidence = self.confidence(query, i, score) if rank == 0 else 0.0
        return FaqHit(entry.id, round(score, 4), entry.question, entry.answer, entry.category, round(confidence, 4))

    def confidence(self, query: str, doc: int, score: float) -> float:
        """0..1: agreement of the fields on this entry and coverage of the query's words by it."""
        agreement = score / self._ranker.max_score
        return 0.5 * agreement + 0.5 * self._document.coverage(query, doc)

    @staticmethod
    def is_confident(hits: list[FaqHit]) -> bool:
        """Answer with ``hits[0]`` when True; else say "I don't know" and offer a person."""
        return bool(hits) and hits[0].confident


# ---------------------------------------------------------------- command line


def register(subparsers) -> None:  # type: ignore[no-untyped-def]
    """Add the ``faq`` command group (import, search) to the ``python -m knowledge`` parser."""
    group = subparsers.add_parser("faq", help="municipality FAQ").add_subparsers(dest="action", required=True)
    imp = group.add_parser("import", help="replace the FAQ with a CSV or corpus-style JSON file")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=_cmd_import)
    search = group.add_parser("search", help="search the FAQ (queries from arguments or stdin lines)")
    search.add_argument("--top", type=int, default=5)
    search.add_argument("query", nargs="*")
    search.set_defaults(func=_cmd_search)


def _cmd_import(args) -> int:  # type: ignore[no-untyped-def]
    count = import_faq(args.file, args.data_dir)
    print(f"imported {count} FAQ entries from {args.file}")
    return 0


def _cmd_search(args) -> int:  # type: ignore[no-untyped-def]
    import sys

    index = FaqIndex.load(args.data_dir)
    queries = args.query or (line.strip() for line in sys.stdin)
    for query in queries:
        if not query:
            continue
        hits = index.search(query, top_k=args.top)
        results = [{"id": h.id, "score": h.score, "question": h.question} for h in hits]
        print(json.dumps({"query": query, "results": results}, ensure_ascii=False), flush=True)
    return 0
