"""Sparse BM25 field indexes and their weighted fusion.

Each field (question words, answer words, question char n-grams, …) is one BM25 index stored as
a CSR matrix of per-document term weights, so scoring a query is one sparse mat-vec.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

Analyzer = Callable[[str], Sequence[str]]


@dataclass
class BM25Field:
    """A BM25 index over one field of a document collection."""

    analyzer: Analyzer
    k1: float = 1.2
    b: float = 0.75
    vocab: dict[str, int] = field(default_factory=dict)
    matrix: sparse.csr_matrix | None = None
    idf: np.ndarray | None = None

    def fit(self, texts: Sequence[str]) -> BM25Field:
        rows, cols, vals = [], [], []
        lengths = np.zeros(len(texts))
        for i, text in enumerate(texts):
            counts: dict[int, int] = {}
            terms = self.analyzer(text)
            lengths[i] = len(terms)
            for term in terms:
                j = self.vocab.setdefault(term, len(self.vocab))
                counts[j] = counts.get(j, 0) + 1
            rows.extend([i] * len(counts))
            cols.extend(counts)
            vals.extend(counts.values())
        tf = sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), max(len(self.vocab), 1)), dtype=float)
        self.matrix = self._weigh(tf, lengths)
        return self

    def _weigh(self, tf: sparse.csr_matrix, lengths: np.ndarray) -> sparse.csr_matrix:
        n_docs = tf.shape[0]
        df = np.bincount(tf.indices, minlength=tf.shape[1])
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        self.idf = idf
        avgdl = max(lengths.mean(), 1.0) if n_docs else 1.0
        norm = self.k1 * (1 - self.b + self.b * lengths / avgdl)
        tf = tf.tocoo()
        weights = tf.data * (self.k1 + 1) / (tf.data + norm[tf.row]) * idf[tf.col]
        return sparse.csr_matrix((weights, (tf.row, tf.col)), shape=tf.shape)

    def coverage(self, query: str, doc: int) -> float:
        """IDF-weighted share of the query's terms that occur in document ``doc`` (0..1)."""
        terms = set(self.analyzer(query))
        if not terms or self.matrix is None or self.idf is None:
            return 0.0
        row = self.matrix.getrow(doc)
        present = set(row.indices.tolist())
        unknown_idf = float(self.idf.max()) if self.idf.size else 1.0
        total = hit = 0.0
        for term in terms:
            j = self.vocab.get(term)
            weight = unknown_idf if j is None else float(self.idf[j])
            total += weight
            hit += weight if j is not None and j in present else 0.0
        return hit / total if total else 0.0

    def query_vector(self, query: str) -> sparse.csr_matrix:
        ids = sorted({self.vocab[t] for t in self.analyzer(query) if t in self.vocab})
        data = np.ones(len(ids))
        return sparse.csr_matrix((data, ([0] * len(ids), ids)), shape=(1, self.matrix.shape[1]))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for ``query`` (unique query terms)."""
        if self.matrix is None or self.matrix.shape[0] == 0:
            return np.zeros(0)
        return np.asarray((self.matrix @ self.query_vector(query).T).todense()).ravel()


def max_normalized(scores: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the top score (zeros stay zeros)."""
    top = scores.max() if scores.size else 0.0
    return scores / top if top > 0 else scores


class LsaField:
    """Latent semantic similarity (TF-IDF → truncated SVD, cosine) over one text field."""

    def __init__(self, analyzer: Analyzer, dims: int = 300) -> None:
        self.analyzer = analyzer
        self.dims = dims
        self.vectorizer = None
        self.svd = None
        self.doc_vectors: np.ndarray | None = None

    def fit(self, texts: Sequence[str]) -> LsaField:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        analyzer = self.analyzer
        self.vectorizer = TfidfVectorizer(analyzer=lambda t: list(analyzer(t)), sublinear_tf=True, min_df=2)
        try:
            matrix = self.vectorizer.fit_transform(texts)
        except ValueError:  # empty vocabulary
            return self
        dims = min(self.dims, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if dims < 50:  # too small a collection for a useful latent space
            return self
        self.svd = TruncatedSVD(dims, random_state=0).fit(matrix)
        self.doc_vectors = _l2(self.svd.transform(matrix))
        return self

    def scores(self, query: str) -> np.ndarray:
        if self.svd is None or self.doc_vectors is None:
            return np.zeros(0)
        vec = _l2(self.svd.transform(self.vectorizer.transform([query])))
        return np.clip(self.doc_vectors @ vec.ravel(), 0.0, None)


def _l2(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


@dataclass
class FusedRanker:
    """Weighted sum of per-field scores, each scaled by its top score for the query.

    Weights were chosen on the even-id half of localgovFAQ (see bench/bench_faq.py).
    """

    fields: dict[str, BM25Field | LsaField]
    weights: dict[str, float]

    def scores(self, query: str, n_docs: int) -> np.ndarray:
        total = np.zeros(n_docs)
        for name, fld in self.fields.items():
            part = fld.scores(query)
            if part.size == n_docs:
                total += self.weights.get(name, 0.0) * max_normalized(part)
        return total

    @property
    def max_score(self) -> float:
        return sum(self.weights.get(name, 0.0) for name in self.fields)
