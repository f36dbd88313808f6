"""Two runs side by side: are they the same embedding? (for example SGD against the closed form,
PPMI against M*: the paper's central question). Rows are matched by word."""
import numpy as np

from .evaluate import analogy, unit_rows


def _shared(a, b):
    """Ids in a and b of the shared words, in a's order (most frequent first)."""
    ids_a, ids_b = [], []
    for i, w in enumerate(a.words):
        j = b.index.get(w)
        if j is not None:
            ids_a.append(i)
            ids_b.append(j)
    ids_a, ids_b = np.asarray(ids_a), np.asarray(ids_b)
    return ids_a, ids_b


def subspace_overlap(A, B, k):
    """||Qa^T Qb||_F^2 / k for the top-k left singular subspaces of A and B: 1 same, ~k/V random."""
    k = min(k, A.shape[1], B.shape[1])
    Qa = np.linalg.svd(A, full_matrices=False)[0][:, :k]
    Qb = np.linalg.svd(B, full_matrices=False)[0][:, :k]
    return float(np.linalg.norm(Qa.T @ Qb) ** 2 / k)


def procrustes_distance(A, B):
    """min over orthogonal R of ||A R - B||_F, both scaled to unit Frobenius norm: 0 when A is a
    rotation of B (dimensions may differ: R is then semi-orthogonal)."""
    A = A / np.linalg.norm(A)
    B = B / np.linalg.norm(B)
    U, _, Vt = np.linalg.svd(A.T @ B, full_matrices=False)
    return float(np.linalg.norm(A @ (U @ Vt) - B))


def neighbour_overlap(A, B, k, queries):
    """Mean fraction of shared top-k cosine neighbours (query excluded) over the query rows."""
    Ua, Ub = unit_rows(A), unit_rows(B)
    shared = 0
    for s in range(0, len(queries), 256):
        q = queries[s:s + 256]
        na, nb = Ua[q] @ Ua.T, Ub[q] @ Ub.T
        na[np.arange(len(q)), q] = -np.inf
        nb[np.arange(len(q)), q] = -np.inf
        ta = np.argpartition(-na, k, axis=1)[:, :k]
        tb = np.argpartition(-nb, k, axis=1)[:, :k]
        shared += sum(len(set(x) & set(y)) for x, y in zip(ta, tb))
    return shared / (k * len(queries))


def compare(a, b, k=10, neighbours=10, n_queries=1000, questions=None, kind="w"):
    """A table of rows (quantity, value for a, value for b or the comparison): shared words,
    eigenvalues, top-k subspace overlap (of the embeddings, and of the eigenvectors when both
    runs have them), neighbour overlap@neighbours over the n_queries most frequent shared words,
    Procrustes distance, and analogy accuracy (3CosAdd, both protocols) with its difference."""
    ia, ib = _shared(a, b)
    if len(ia) < 2:
        raise ValueError(f"{a.path} and {b.path} share fewer than 2 words")
    A, B = a.vectors(kind)[ia], b.vectors(kind)[ib]
    rows = [("words (a, b, shared)", len(a.words), len(b.words), len(ia)),
            ("dimensions", A.shape[1], B.shape[1], "")]
    if a.spectrum is not None and b.spectrum is not None:
        for i in range(min(5, len(a.spectrum.eigenvalues), len(b.spectrum.eigenvalues))):
            la, lb = float(a.spectrum.eigenvalues[i]), float(b.spectrum.eigenvalues[i])
            rows.append((f"lambda_{i + 1} (ratio a/b)", la, lb, la / lb if lb else float("nan")))
        ka = min(k, a.spectrum.eigenvectors.shape[1], b.spectrum.eigenvectors.shape[1])
        rows.append((f"eigenvector overlap top-{ka}", "", "",
                     subspace_overlap(a.spectrum.eigenvectors[ia][:, :ka], b.spectrum.eigenvectors[ib][:, :ka], ka)))
    rows.append((f"embedding subspace overlap top-{min(k, A.shape[1], B.shape[1])}", "", "", subspace_overlap(A, B, k)))
    queries = np.arange(min(n_queries, len(ia)))
    nk = min(neighbours, len(ia) - 1)
    rows.append((f"neighbour overlap@{nk} ({len(queries)} words)", "", "", neighbour_overlap(A, B, nk, queries)))
    rows.append(("Procrustes distance (unit norms)", "", "", procrustes_distance(A, B)))
    if questions:
        for protocol in ("standard", "pairs"):
            ra, rb = analogy(a, questions, protocol=protocol, kind=kind), analogy(b, questions, protocol=protocol,
                                                                                   kind=kind)
            rows.append((f"analogy {protocol} (a, b, b - a)", ra["overall"]["accuracy"], rb["overall"]["accuracy"],
                         rb["overall"]["accuracy"] - ra["overall"]["accuracy"]))
            if protocol == "standard":
                for sa, sb in zip(ra["sections"], rb["sections"]):
                    if sa["total"] or sb["total"]:
                        rows.append((f"  {sa['name']}", sa["accuracy"], sb["accuracy"],
                                     sb["accuracy"] - sa["accuracy"]))
    return rows


def format_table(rows, a_name, b_name):
    def cell(v):
        if isinstance(v, float):
            return "nan" if v != v else f"{v:.4g}"
        return str(v)
    header = ("quantity", a_name, b_name, "b vs a")
    table = [header] + [tuple(cell(v) for v in r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = ["| " + " | ".join(r[i].ljust(widths[i]) for i in range(4)) + " |" for r in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
