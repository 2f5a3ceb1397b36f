"""Sparse BM25 and latent (LSA) field indexes, their weighted fusion, and their storage as arrays.

Each field works on already-analyzed terms (the FAQ index decides how texts become terms). A BM25
field is a CSR matrix of per-document term weights, so scoring a weighted query is one sparse
mat-vec. Every field can be written to and read back from plain numpy arrays (``to_arrays`` /
``from_arrays``), which the FAQ index stores as an ``.npz`` file without pickle.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

Terms = Sequence[str]
QueryWeights = Mapping[str, float]  # term -> weight (1.0 for the query's own terms)


def _vocab_array(vocab: dict[str, int]) -> np.ndarray:
    terms = sorted(vocab, key=vocab.__getitem__)
    return np.array(terms, dtype=str) if terms else np.array([], dtype="<U1")


def _count_matrix(docs: Sequence[Terms], vocab: dict[str, int], grow: bool) -> sparse.csr_matrix:
    rows: list[int] = []
    cols: list[int] = []
    vals: list[int] = []
    for i, terms in enumerate(docs):
        counts: dict[int, int] = {}
        for term in terms:
            j = vocab.setdefault(term, len(vocab)) if grow else vocab.get(term)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        rows.extend([i] * len(counts))
        cols.extend(counts)
        vals.extend(counts.values())
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), max(len(vocab), 1)), dtype=float)


class BM25Field:
    """A BM25 index over one field of a document collection (documents given as term lists)."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.vocab: dict[str, int] = {}
        self.matrix = sparse.csr_matrix((0, 1))  # documents x terms, BM25 term weights
        self.idf = np.zeros(0)

    def fit(self, docs: Sequence[Terms]) -> BM25Field:
        tf = _count_matrix(docs, self.vocab, grow=True)
        lengths = np.array([len(d) for d in docs], dtype=float)
        n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        avgdl = max(lengths.mean(), 1.0) if n_docs else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / avgdl)
        coo = tf.tocoo()
        weights = coo.data * (self.k1 + 1) / (coo.data + norm[coo.row]) * self.idf[coo.col]
        self.matrix = sparse.csr_matrix((weights, (coo.row, coo.col)), shape=tf.shape)
        return self

    @property
    def n_docs(self) -> int:
        return int(self.matrix.shape[0])

    def scores(self, query: QueryWeights) -> np.ndarray:
        """BM25 score of every document for the weighted query terms."""
        vec = np.zeros(self.matrix.shape[1])
        for term, weight in query.items():
            j = self.vocab.get(term)
            if j is not None and weight > 0:
                vec[j] += weight
        if self.n_docs == 0 or not vec.any():
            return np.zeros(self.n_docs)
        return np.asarray(self.matrix @ vec).ravel()

    def coverage(self, terms: Terms, doc: int) -> float:
        """IDF-weighted share of ``terms`` that occur in document ``doc`` (0..1)."""
        unique = set(terms)
        if not unique or self.n_docs == 0:
            return 0.0
        row = self.matrix.indices[self.matrix.indptr[doc] : self.matrix.indptr[doc + 1]]
        present = set(row.tolist())
        unknown_idf = float(self.idf.max()) if self.idf.size else 1.0
        total = hit = 0.0
        for term in unique:
            j = self.vocab.get(term)
            weight = unknown_idf if j is None else float(self.idf[j])
            total += weight
            hit += weight if j is not None and j in present else 0.0
        return hit / total if total else 0.0

    def to_arrays(self) -> dict[str, np.ndarray]:
        m = self.matrix
        return {
            "vocab": _vocab_array(self.vocab),
            "idf": self.idf,
            "data": m.data,
            "indices": m.indices,
            "indptr": m.indptr,
            "shape": np.array(m.shape),
            "params": np.array([self.k1, self.b]),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> BM25Field:
        k1, b = (float(x) for x in arrays["params"])
        field = cls(k1, b)
        field.vocab = {str(t): i for i, t in enumerate(arrays["vocab"].tolist())}
        field.idf = np.asarray(arrays["idf"], dtype=float)
        shape = tuple(int(x) for x in arrays["shape"])
        field.matrix = sparse.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape)
        return field


class LsaField:
    """Latent semantic similarity: sublinear TF-IDF (l2) -> truncated SVD -> cosine."""

    def __init__(self, dims: int = 300, min_df: int = 2) -> None:
        self.dims = dims
        self.min_df = min_df
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.components = np.zeros((0, 0))  # dims x terms
        self.doc_vectors = np.zeros((0, 0))  # documents x dims, unit length

    def _tfidf(self, docs: Sequence[Terms]) -> sparse.csr_matrix:
        tf = _count_matrix(docs, self.vocab, grow=False)
        tf.data = 1.0 + np.log(tf.data)
        tf = tf @ sparse.diags(self.idf)
        norms = np.sqrt(np.asarray(tf.multiply(tf).sum(axis=1)).ravel())
        return sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ tf

    def fit(self, docs: Sequence[Terms]) -> LsaField:
        from sklearn.decomposition import TruncatedSVD

        df: dict[str, int] = {}
        for terms in docs:
            for term in set(terms):
                df[term] = df.get(term, 0) + 1
        kept = sorted(t for t, n in df.items() if n >= self.min_df)
        dims = min(self.dims, len(docs) - 1, len(kept) - 1)
        if dims < 50:  # too small a collection for a useful latent space
            return self
        self.vocab = {t: i for i, t in enumerate(kept)}
        self.idf = np.log((1 + len(docs)) / (1 + np.array([df[t] for t in kept], dtype=float))) + 1.0
        matrix = self._tfidf(docs)
        svd = TruncatedSVD(dims, random_state=0).fit(matrix)
        self.components = svd.components_.astype(np.float32)  # float32 halves the stored index
        self.doc_vectors = _l2(np.asarray(matrix @ svd.components_.T)).astype(np.float32)
        return self

    def scores(self, query: QueryWeights) -> np.ndarray:
        """Cosine of every document with the query's own terms (weight 1.0; expansions ignored)."""
        if not self.vocab:
            return np.zeros(0)
        ids = sorted({self.vocab[t] for t, w in query.items() if w >= 1.0 and t in self.vocab})
        if not ids:
            return np.zeros(self.doc_vectors.shape[0])
        weights = (self.idf[ids] / np.linalg.norm(self.idf[ids])).astype(np.float32)  # tf 1, l2-normalized
        vec = self.components[:, ids] @ weights
        norm = np.linalg.norm(vec)
        return np.clip(self.doc_vectors @ (vec / norm if norm > 0 else vec), 0.0, None)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "vocab": _vocab_array(self.vocab),
            "idf": self.idf,
            "components": self.components,
            "doc_vectors": self.doc_vectors,
            "params": np.array([self.dims, self.min_df]),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> LsaField:
        dims, min_df = (int(x) for x in arrays["params"])
        field = cls(dims, min_df)
        field.vocab = {str(t): i for i, t in enumerate(arrays["vocab"].tolist())}
        field.idf = np.asarray(arrays["idf"], dtype=float)
        field.components = np.asarray(arrays["components"], dtype=np.float32)
        field.doc_vectors = np.asarray(arrays["doc_vectors"], dtype=np.float32)
        return field


def _l2(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


def max_normalized(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the top score (zeros stay zeros)."""
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


Field = BM25Field | LsaField
FIELD_TYPES: dict[str, type[BM25Field] | type[LsaField]] = {"bm25": BM25Field, "lsa": LsaField}


@dataclass
class FusedRanker:
    """Weighted sum of per-field scores: BM25 scores scaled by their top score for the query,
    LSA cosines as they are (already on a 0..1 scale).

    ``views`` names, per field, which analysis of the query it scores (e.g. "words", "chars").
    Weights were chosen on the even-id half of localgovFAQ (see bench/bench_faq.py).
    """

    fields: dict[str, Field]
    views: dict[str, str]
    weights: dict[str, float]

    def scores(self, queries: Mapping[str, QueryWeights], n_docs: int) -> np.ndarray:
        total = np.zeros(n_docs)
        for name, fld in self.fields.items():
            part = fld.scores(queries[self.views[name]])
            if part.size == n_docs:
                scaled = max_normalized(part) if isinstance(fld, BM25Field) else part
                total += self.weights.get(name, 0.0) * scaled
        return total

    @property
    def max_score(self) -> float:
        return sum(self.weights.get(name, 0.0) for name in self.fields)


# ---------------------------------------------------------------- storage (.npz, no pickle)

INDEX_FORMAT = 2  # bump when the analysis or the field layout changes


def _analysis_version() -> str:
    """Versions that change how texts become terms (format, Sudachi and its dictionary)."""
    from importlib import metadata

    parts = [f"format={INDEX_FORMAT}"]
    for dist in ("sudachipy", "sudachidict-core"):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=?")
    return ";".join(parts)


def write_fields(path: Path, fields: Mapping[str, Field], source_digest: str) -> None:
    """Store ``fields`` atomically as one ``.npz`` (arrays plus a JSON header, no pickle)."""
    kinds = {name: ("lsa" if isinstance(fld, LsaField) else "bm25") for name, fld in fields.items()}
    meta = {
        "analysis": _analysis_version(),
        "source_sha256": source_digest,
        "fields": kinds,
        "n_docs": next((f.n_docs for f in fields.values() if isinstance(f, BM25Field)), 0),
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for name, fld in fields.items():
        arrays.update({f"{name}.{key}": value for key, value in fld.to_arrays().items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_fields(path: Path, source_digest: str, n_docs: int) -> dict[str, Field] | None:
    """The stored fields when ``path`` was built from this source with this analysis, else None."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            if (
                meta.get("analysis") != _analysis_version()
                or meta.get("source_sha256") != source_digest
                or meta.get("n_docs") != n_docs
            ):
                return None
            fields: dict[str, Field] = {}
            for name, kind in meta["fields"].items():
                prefix = f"{name}."
                arrays = {k[len(prefix) :]: npz[k] for k in npz.files if k.startswith(prefix)}
                fields[name] = FIELD_TYPES[kind].from_arrays(arrays)
            return fields
    except (OSError, ValueError, KeyError, TypeError):  # unreadable or foreign file: rebuild
        return None
