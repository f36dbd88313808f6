"""Evaluation of embeddings outside a run, with qwem-dist's own rules (include/qwem/eval.hpp):
analogies by 3CosAdd or 3CosMul under the standard and the paper's pair protocol, word
similarity by Spearman's rho, and nearest neighbours."""
import math

import numpy as np


def _embeddings(run, kind="w"):
    return run.vectors(kind) if hasattr(run, "vectors") else run.embeddings


def unit_rows(E):
    """Rows scaled to unit length (zero rows stay zero), as qwem-dist scores them."""
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    return np.divide(E, norms, out=np.zeros_like(E, dtype=np.float64), where=norms > 0)


def read_analogies(path):
    """questions-words.txt: [(section, [(a, b, c, d), ...])], words lower-cased."""
    sections = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if line.startswith(":"):
                sections.append((line[1:].split()[0] if line[1:].split() else "", []))
                continue
            words = line.lower().split()
            if len(words) != 4 or not sections:
                raise ValueError(f"{path} line {number}: expected ': section' or four words")
            sections[-1][1].append(tuple(words))
    return sections


def read_similarity(path):
    """A word-similarity file as qwem-dist reads it: [(w1, w2, score)], lower-cased. The score is
    the first number after the two words (extra columns allowed: the original SimLex-999, RW); a
    first line without a number is a header; blank lines and '#' lines are skipped."""
    pairs, first = [], True
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.lower().split()
            if not fields or fields[0].startswith("#"):
                continue
            score = None
            for field in fields[2:]:
                try:
                    x = float(field)
                except ValueError:
                    continue
                if math.isfinite(x):
                    score = x
                    break
            header, first = first and score is None, False
            if header:
                continue
            if score is None:
                raise ValueError(f"{path} line {number}: expected 'word word score' (extra columns allowed)")
            pairs.append((fields[0], fields[1], score))
    return pairs


def _answers(U, queries, method, batch=512):
    """The best x outside {a, b, c} for each (a, b, c) (ties: the lowest id)."""
    out = np.empty(len(queries), dtype=np.int64)
    q = np.asarray(queries, dtype=np.int64).reshape(-1, 3)
    for s in range(0, len(q), batch):
        a, b, c = q[s:s + batch, 0], q[s:s + batch, 1], q[s:s + batch, 2]
        if method == "3cosadd":
            scores = (U[b] - U[a] + U[c]) @ U.T
        elif method == "3cosmul":  # Levy & Goldberg 2014: cosines shifted to [0, 1], epsilon 1e-3
            ca, cb, cc = ((U[x] @ U.T + 1) / 2 for x in (a, b, c))
            scores = cb * cc / (ca + 1e-3)
        else:
            raise ValueError(f"unknown method {method!r} (expected 3cosadd or 3cosmul)")
        rows = np.arange(len(a))
        for x in (a, b, c):
            scores[rows, x] = -np.inf
        out[s:s + batch] = np.argmax(scores, axis=1)
    return out


def section_pairs(index, items):
    """The distinct in-vocabulary (a, b) id pairs of a section's questions (a, b, c, d), in
    first-seen order: the pairs of the paper's pair protocol."""
    pairs, seen = [], set()
    for w in items:
        for a, b in ((w[0], w[1]), (w[2], w[3])):
            p = (index.get(a, -1), index.get(b, -1))
            if min(p) >= 0 and p not in seen:
                seen.add(p)
                pairs.append(p)
    return pairs


def pair_queries(pairs):
    """The pair protocol's analogies: every ordered pair of two distinct pairs, b - a + c -> d.
    Returns (queries [(a, b, c)], expected [d])."""
    queries = [(p[0], p[1], r[0]) for p in pairs for r in pairs if p != r]
    expected = [r[1] for p in pairs for r in pairs if p != r]
    return queries, expected


def analogy(run, questions, method="3cosadd", protocol="standard", kind="w"):
    """Analogy accuracy, as qwem-dist's /eval computes it for 3CosAdd.

    questions: a questions-words.txt path, or read_analogies()'s result.
    protocol: "standard" (the questions as given, those with all four words in the vocabulary) or
              "pairs" (the paper's: per section, the distinct in-vocabulary (a, b) pairs in
              first-seen order, every ordered pair of two of them one analogy b - a + c -> d).
    Returns {"overall": {correct, total, accuracy}, "semantic": ..., "syntactic": ...,
             "sections": [{name, semantic, correct, total, n_questions, accuracy}]}; accuracy is
    NaN for no questions."""
    if isinstance(questions, str):
        questions = read_analogies(questions)
    U = unit_rows(_embeddings(run, kind))
    index = run.index
    sections = []
    if protocol not in ("standard", "pairs"):
        raise ValueError(f"unknown protocol {protocol!r} (expected standard or pairs)")
    for name, items in questions:
        if protocol == "pairs":
            queries, expected = pair_queries(section_pairs(index, items))
        else:
            queries, expected = [], []
            for w in items:
                ids = [index.get(x, -1) for x in w]
                if min(ids) >= 0:
                    queries.append(ids[:3])
                    expected.append(ids[3])
        correct = int((_answers(U, queries, method) == np.asarray(expected)).sum()) if queries else 0
        sections.append({"name": name, "semantic": not name.startswith("gram"), "correct": correct,
                         "total": len(queries), "n_questions": len(items),
                         "accuracy": correct / len(queries) if queries else float("nan")})

    def summary(keep):
        c = sum(s["correct"] for s in sections if keep(s))
        t = sum(s["total"] for s in sections if keep(s))
        return {"correct": c, "total": t, "accuracy": c / t if t else float("nan")}

    return {"method": method, "protocol": protocol, "overall": summary(lambda s: True),
            "semantic": summary(lambda s: s["semantic"]), "syntactic": summary(lambda s: not s["semantic"]),
            "sections": sections}


def spearman(x, y):
    """Spearman's rho with average ranks for ties; NaN when undefined (< 2 pairs, or no spread)."""
    from scipy.stats import rankdata
    if len(x) < 2:
        return float("nan")
    rx, ry = rankdata(x) - (len(x) + 1) / 2, rankdata(y) - (len(y) + 1) / 2
    sxx, syy = float(rx @ rx), float(ry @ ry)
    return float(rx @ ry) / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def similarity(run, pairs, kind="w"):
    """Spearman's rho between cosine and human scores over the in-vocabulary pairs.
    pairs: a file path (read_similarity's rules) or [(w1, w2, score)].
    Returns {"spearman", "n_covered", "n_pairs"}; spearman is NaN when undefined."""
    if isinstance(pairs, str):
        pairs = read_similarity(pairs)
    U = unit_rows(_embeddings(run, kind))
    cos, human = [], []
    for a, b, score in pairs:
        i, j = run.index.get(a, -1), run.index.get(b, -1)
        if i >= 0 and j >= 0:
            cos.append(float(U[i] @ U[j]))
            human.append(score)
    return {"spearman": spearman(cos, human), "n_covered": len(cos), "n_pairs": len(pairs)}


def most_similar(run, positive, negative=(), topn=10, kind="w"):
    """gensim's most_similar: the topn words nearest (cosine) to the sum of the unit positive
    rows minus the negative ones, query words excluded. Returns [(word, cosine)]."""
    if isinstance(positive, str):
        positive = [positive]
    if isinstance(negative, str):
        negative = [negative]
    U = unit_rows(_embeddings(run, kind))
    ids = []
    target = np.zeros(U.shape[1])
    for words, sign in ((positive, 1.0), (negative, -1.0)):
        for w in words:
            if w not in run.index:
                raise KeyError(f"'{w}' is not in the vocabulary of {run.path}")
            ids.append(run.index[w])
            target += sign * U[run.index[w]]
    norm = np.linalg.norm(target)
    scores = U @ (target / norm if norm > 0 else target)
    scores[ids] = -np.inf
    order = np.argsort(-scores, kind="stable")[:topn]
    return [(run.words[i], float(scores[i])) for i in order]
