"""FAQ retrieval benchmark on localgovFAQ (Amagasaki): `.venv/bin/python bench/bench_faq.py`.

Loads corpus.json through the importer into a temporary data dir, runs the 587 queries that have
a grade-2 entry, and reports success@1/5/10 and MRR (grade-2 entries count as relevant) for the
even-id half (used for tuning), the odd-id half (held out) and all, plus median latency per query
and how the confidence threshold behaves. Writes bench/results/faq.json.

    --halves even   report the tuning half only (use this while trying variants: the odd half
                    stays unseen until a variant is final)
    --tune          grid-search the fusion and synonym weights on the even half only
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from knowledge import faq, textproc  # noqa: E402
from knowledge.faq import CONFIDENCE_THRESHOLD, FaqIndex, import_faq, parse_faq_file  # noqa: E402
from knowledge.retrieval import BM25Field, max_normalized  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "localgovfaq-amagasaki"
THRESHOLDS = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]


def load_queries() -> tuple[dict[str, str], dict[str, set[str]]]:
    queries = json.loads((DATASET / "queries.json").read_text(encoding="utf-8"))
    qrels = json.loads((DATASET / "qrels.json").read_text(encoding="utf-8"))
    relevant = {qid: {doc for doc, grade in docs.items() if int(grade) == 2} for qid, docs in qrels.items()}
    return queries, {qid: docs for qid, docs in relevant.items() if docs}


def run(index: FaqIndex, queries: dict[str, str], relevant: dict[str, set[str]]) -> list[dict]:
    rows = []
    for qid in sorted(relevant, key=int):
        start = time.perf_counter()
        hits = index.search(queries[qid], top_k=10)
        elapsed = (time.perf_counter() - start) * 1000
        rank = next((r for r, h in enumerate(hits, 1) if h.id in relevant[qid]), None)
        conf = hits[0].confidence if hits else 0.0
        rows.append({"qid": qid, "rank": rank, "ms": elapsed, "confidence": conf})
    return rows


def metrics(rows: list[dict]) -> dict[str, float]:
    n = len(rows)
    ranks = [r["rank"] for r in rows]
    out = {f"success@{k}": sum(1 for x in ranks if x and x <= k) / n for k in (1, 5, 10)}
    out["mrr@10"] = sum(1 / x for x in ranks if x) / n
    out["queries"] = n
    return {k: round(v, 4) for k, v in out.items()}


def threshold_table(rows: list[dict]) -> list[dict[str, float]]:
    """For each threshold: share of queries answered, and precision@1 among the answered."""
    table = []
    for t in THRESHOLDS:
        answered = [r for r in rows if r["confidence"] >= t]
        precision = sum(1 for r in answered if r["rank"] == 1) / len(answered) if answered else 0.0
        table.append(
            {"threshold": t, "answered": round(len(answered) / len(rows), 4), "precision@1": round(precision, 4)}
        )
    return table


def tune(relevant: dict[str, set[str]], queries: dict[str, str]) -> None:
    """Grid search of field and synonym weights on the even half (prints the best settings)."""
    index = FaqIndex(parse_faq_file(DATASET / "corpus.json"))
    ids = [e.id for e in index.entries]
    even = [q for q in sorted(relevant, key=int) if int(q) % 2 == 0]
    names = list(index.fields)
    results = []
    for syn in (0.0, 0.25, 0.5, 0.75, 1.0):
        faq.SYNONYM_WEIGHT = syn
        parts = {}
        for q in even:
            views = faq.analyze_query(queries[q])
            parts[q] = []
            for name in names:
                fld = index.fields[name]
                sc = fld.scores(views[faq.FIELD_VIEWS[name]])
                parts[q].append(max_normalized(sc) if isinstance(fld, BM25Field) else sc)
        grid = {
            "question": (0.0, 0.25, 0.5),
            "document": (1.0,),
            "answer": (0.0, 0.25, 0.5),
            "question_chars": (0.0, 0.25, 0.5),
            "latent": (0.25, 0.5, 0.75),
        }
        for weights in itertools.product(*(grid.get(n, (faq.FIELD_WEIGHTS.get(n, 0.0),)) for n in names)):
            mrr = s1 = 0.0
            for q in even:
                total = sum(w * p for w, p in zip(weights, parts[q], strict=True))
                order = np.argsort(-total, kind="stable")[:10]
                rank = next((r for r, i in enumerate(order, 1) if ids[i] in relevant[q]), None)
                mrr += 1 / rank if rank else 0.0
                s1 += rank == 1
            setting = dict(zip(names, weights, strict=True))
            results.append((round(mrr / len(even), 4), round(s1 / len(even), 4), syn, setting))
    results.sort(key=lambda r: (-r[0], -r[1]))
    for mrr, s1, syn, weights in results[:15]:
        print(f"even MRR {mrr:.4f} s@1 {s1:.4f} synonyms {syn} {weights}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halves", choices=["even", "all"], default="all")
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    if not DATASET.exists():
        print(f"dataset not found: {DATASET}", file=sys.stderr)
        return 1
    queries, relevant = load_queries()
    if args.tune:
        tune(relevant, queries)
        return 0
    if args.halves == "even":
        relevant = {q: docs for q, docs in relevant.items() if int(q) % 2 == 0}
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        n_entries = import_faq(DATASET / "corpus.json", Path(tmp))  # parses, builds and stores the index
        import_s = time.perf_counter() - start
        start = time.perf_counter()
        index = FaqIndex.load(Path(tmp))  # what the server does at start-up
        load_s = time.perf_counter() - start
        (Path(tmp) / "knowledge" / faq.INDEX_FILE).unlink()
        textproc.sub_words.cache_clear()  # a fresh process has no tokenization cache
        start = time.perf_counter()
        FaqIndex.load(Path(tmp))  # no stored index (or a stale one): rebuilt from faq.json
        rebuild_s = time.perf_counter() - start
    rows = run(index, queries, relevant)
    halves = {"even": [r for r in rows if int(r["qid"]) % 2 == 0]}
    if args.halves == "all":
        halves.update({"odd": [r for r in rows if int(r["qid"]) % 2 == 1], "all": rows})
    result = {
        "dataset": "localgovfaq-amagasaki",
        "entries": n_entries,
        "import_s": round(import_s, 2),
        "index_load_s": round(load_s, 3),
        "index_rebuild_s": round(rebuild_s, 2),
        "median_latency_ms": round(statistics.median(r["ms"] for r in rows), 2),
        "metrics": {name: metrics(part) for name, part in halves.items()},
        "confidence_threshold": CONFIDENCE_THRESHOLD,
        "confidence": {name: threshold_table(halves[name]) for name in ("even", "odd") if name in halves},
        "references": {
            "char_bm25_success@1": 0.25,
            "bert_sigir2019": {"success@1": 0.486, "success@5": 0.737, "mrr": 0.596},
        },
    }
    out = ROOT / "bench" / "results" / ("faq.json" if args.halves == "all" else "faq_even.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_summary(result)
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


def print_summary(result: dict) -> None:
    print(
        f"localgovFAQ: {result['entries']} entries; import (parse + build + store) {result['import_s']} s, "
        f"load of the stored index {result['index_load_s']} s, rebuild without it {result['index_rebuild_s']} s; "
        f"median latency {result['median_latency_ms']} ms/query"
    )
    print(f"{'half':<5} {'n':>4} {'s@1':>6} {'s@5':>6} {'s@10':>6} {'MRR':>6}")
    for name, m in result["metrics"].items():
        print(
            f"{name:<5} {m['queries']:>4} {m['success@1']:>6.3f} {m['success@5']:>6.3f} "
            f"{m['success@10']:>6.3f} {m['mrr@10']:>6.3f}"
        )
    print("BERT (SIGIR 2019): s@1 0.486, s@5 0.737, MRR 0.596; char BM25 s@1 ~0.25")
    print(f"confidence threshold {result['confidence_threshold']} (chosen on even):")
    for name, table in result["confidence"].items():
        cells = "  ".join(f"{r['threshold']}: {r['answered']:.2f}/{r['precision@1']:.2f}" for r in table)
        print(f"  {name} answered/precision@1  {cells}")


if __name__ == "__main__":
    sys.exit(main())
