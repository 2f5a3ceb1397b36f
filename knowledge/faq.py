"""Municipality FAQ: import (CSV / localgovFAQ JSON), storage and Japanese retrieval.

index = FaqIndex.load(data_dir)
hits = index.search("戸籍謄本の手数料は？", top_k=5)
if index.is_confident(hits): answer(hits[0].answer) else: offer_a_person()
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from knowledge.retrieval import BM25Field, Field, FusedRanker, LsaField, read_fields, write_fields
from knowledge.store import (
    FAQ_FILE,
    KnowledgeImportError,
    knowledge_dir,
    read_json,
    read_text_file,
    write_json_atomic,
)
from knowledge.textproc import char_ngrams, sub_words, synonyms

# Field weights, synonym weight and confidence threshold, tuned on the even-id half of localgovFAQ
# only (bench/bench_faq.py); the odd half is held out.
FIELD_WEIGHTS = {"question": 0.5, "document": 1.0, "answer": 0.25, "question_chars": 0.25, "latent": 0.5}
FIELD_VIEWS = {
    "question": "words",
    "document": "words",
    "answer": "words",
    "question_chars": "chars",
    "latent": "words",
}
SYNONYM_WEIGHT = 0.75
CONFIDENCE_THRESHOLD = 0.55
INDEX_FILE = "faq_index.npz"


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
    entries: list[FaqEntry] = []
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
    index = FaqIndex(entries)  # built before anything is replaced
    stored = knowledge_dir(data_dir) / FAQ_FILE
    write_json_atomic(stored, payload)
    index.save(data_dir, hashlib.sha256(stored.read_bytes()).hexdigest())
    return len(entries)


def load_entries(data_dir: Path) -> list[FaqEntry]:
    data = read_json(knowledge_dir(data_dir) / FAQ_FILE)
    return [FaqEntry(**e) for e in data["entries"]] if data else []


# ---------------------------------------------------------------- retrieval


def analyze_query(query: str) -> dict[str, dict[str, float]]:
    """The query's views: short-unit words (+ synonyms at a reduced weight) and char bigrams."""
    words = sub_words(query)
    weights = {w: 1.0 for w in words}
    for term, weight in synonyms().expand(query, words).items():
        weights.setdefault(term, SYNONYM_WEIGHT * weight)
    return {"words": weights, "chars": {g: 1.0 for g in char_ngrams(query)}}


def _build_fields(entries: list[FaqEntry]) -> dict[str, Field]:
    questions = [sub_words(e.question) for e in entries]
    answers = [sub_words(f"{e.category} {e.answer}") for e in entries]
    documents = [q + q + a for q, a in zip(questions, answers, strict=True)]
    return {
        "question": BM25Field().fit(questions),
        "document": BM25Field(b=0.5).fit(documents),
        "answer": BM25Field().fit(answers),
        "question_chars": BM25Field().fit([char_ngrams(e.question) for e in entries]),
        "latent": LsaField(dims=300).fit(documents),
    }


class FaqIndex:
    """BM25 over Sudachi short-unit normalized forms (question, question×2+answer, answer),
    question character bigrams and an LSA similarity, fused with weights tuned on localgovFAQ
    (even ids); query words are expanded with knowledge/data/synonyms.yml."""

    def __init__(self, entries: list[FaqEntry], fields: dict[str, Field] | None = None) -> None:
        self.entries = entries
        self.fields = fields if fields is not None else _build_fields(entries)
        self._ranker = FusedRanker(self.fields, FIELD_VIEWS, FIELD_WEIGHTS)

    @classmethod
    def load(cls, data_dir: Path) -> FaqIndex:
        """The index of the imported FAQ (empty when nothing was imported).

        Reads the stored index (``faq_index.npz``) when it was built from the current faq.json
        with the current analysis; otherwise rebuilds it and stores it for the next load.
        """
        path = knowledge_dir(data_dir) / FAQ_FILE
        if not path.exists():
            return cls([])
        raw = path.read_bytes()
        entries = [FaqEntry(**e) for e in json.loads(raw.decode("utf-8"))["entries"]]
        digest = hashlib.sha256(raw).hexdigest()
        fields = read_fields(knowledge_dir(data_dir) / INDEX_FILE, digest, len(entries))
        if fields is not None and set(fields) == set(FIELD_VIEWS):  # else built by an older layout
            return cls(entries, fields)
        index = cls(entries)
        index.save(data_dir, digest)
        return index

    def save(self, data_dir: Path, faq_digest: str) -> None:
        """Store the field arrays next to faq.json (best effort: a read-only dir is not an error)."""
        with contextlib.suppress(OSError):
            write_fields(knowledge_dir(data_dir) / INDEX_FILE, self.fields, faq_digest)

    def __len__(self) -> int:
        return len(self.entries)

    def search(self, query: str, top_k: int = 5) -> list[FaqHit]:
        """Best entries for ``query``, best first; only entries with a positive score."""
        if not self.entries or not query.strip():
            return []
        views = analyze_query(query)
        scores = self._ranker.scores(views, len(self.entries))
        order = np.argsort(-scores, kind="stable")[:top_k]
        hits = []
        for rank, i in enumerate(order):
            if scores[i] <= 0:
                break
            confidence = self.confidence(query, int(i), float(scores[i])) if rank == 0 else 0.0
            entry = self.entries[int(i)]
            hits.append(
                FaqHit(
                    entry.id,
                    round(float(scores[i]), 4),
                    entry.question,
                    entry.answer,
                    entry.category,
                    round(confidence, 4),
                )
            )
        return hits

    def confidence(self, query: str, doc: int, score: float) -> float:
        """0..1: agreement of the fields on this entry and coverage of the query's words by it."""
        agreement = score / self._ranker.max_score
        document = self.fields["document"]
        coverage = document.coverage(sub_words(query), doc) if isinstance(document, BM25Field) else 0.0
        return 0.5 * agreement + 0.5 * coverage

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
