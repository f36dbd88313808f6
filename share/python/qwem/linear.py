"""Linear representations (the paper's Fig. 4; SCIENCE.md): how analogy directions emerge.

For an analogy family (pairs (a, b) such as france -> french), the difference vectors
R = W[b] - W[a] of its in-vocabulary pairs, one row per pair. In the spiked covariance model R is
a shared direction (the family's "task vector") plus noise, so the spectrum of R R^T / d is a
Marchenko-Pastur bulk with one outlier. Computed for embedding sizes d (the leading d closed-form
dimensions, the paper's proxy for training time) or along real training time (SGD checkpoints):

  snr          lambda_max(R R^T) / (Tr(R R^T) / rank(R R^T))
  mp_sigma2    the noise variance per entry, without hand-set factors: the pooled variance of the
               difference vectors around the family's mean difference (the spike is what the
               pairs share), ||R - 1 m^T||_F^2 / ((n - 1) d), unbiased for i.i.d. noise
  mp_ratio     gamma = n / d, the aspect ratio of the Marchenko-Pastur law
  mp_edge      its upper edge s^2 (1 + sqrt(gamma))^2; the outlier is detectable above it
  outlier      the largest eigenvalue of R R^T / d
  alignment    per dimension k, m_k^2 / ||m||^2 for the family's mean difference m (in the
               closed form's coordinates, dimension k is eigenvector k of M*): localization
  participation  (sum m_k^2)^2 / sum m_k^4, how many dimensions m spreads over
  accuracy     the family's analogies by 3CosAdd (pair protocol: every ordered pair of its pairs)
"""
import math

import numpy as np

from .evaluate import _answers, pair_queries, read_analogies, section_pairs, unit_rows

# The families of questions-words.txt sections (the paper's Fig. 4 families).
FAMILIES = {
    "country-nationality": "gram6-nationality-adjective",
    "male-female": "family",
    "verb-past-tense": "gram7-past-tense",
    "adjective-adverb": "gram1-adjective-to-adverb",
    "adjective-antonym": "gram2-opposite",
    "noun-plural": "gram8-plural",
    "adjective-comparative": "gram3-comparative",
    "country-capital": "capital-common-countries",
}


def family_pairs(run, questions, section):
    """The distinct in-vocabulary (a, b) id pairs of a questions-words section, first-seen order."""
    if isinstance(questions, str):
        questions = read_analogies(questions)
    return section_pairs(run.index, [w for name, items in questions if name == section for w in items])


def marchenko_pastur_density(x, ratio, sigma2):
    """The Marchenko-Pastur density of the nonzero eigenvalues of X X^T / d (X: n x d entries of
    variance sigma2, ratio = n / d), at the points x."""
    lo, hi = sigma2 * (1 - math.sqrt(ratio)) ** 2, sigma2 * (1 + math.sqrt(ratio)) ** 2
    x = np.asarray(x, dtype=float)
    inside = (x > lo) & (x < hi)
    out = np.zeros_like(x)
    out[inside] = np.sqrt((hi - x[inside]) * (x[inside] - lo)) / (2 * math.pi * sigma2 * min(ratio, 1.0) * x[inside])
    return out


def spiked_statistics(R):
    """The statistics of one difference matrix R (n pairs x d) listed in the module's docstring,
    except accuracy."""
    n, d = R.shape
    gram = R @ R.T
    ev = np.sort(np.linalg.eigvalsh(gram))[::-1]
    rank = int(np.sum(ev > ev[0] * 1e-10)) if ev[0] > 0 else 0
    trace = float(ev.sum())
    snr = float(ev[0] / (trace / rank)) if rank > 0 else float("nan")
    mu = ev / d
    m = R.mean(axis=0)
    sigma2 = float(((R - m) ** 2).sum() / ((n - 1) * d)) if n > 1 else float("nan")
    ratio = n / d
    edge = sigma2 * (1 + math.sqrt(ratio)) ** 2
    m2 = m * m
    total = float(m2.sum())
    alignment = m2 / total if total > 0 else np.zeros(d)
    participation = total ** 2 / float((m2 * m2).sum()) if total > 0 else float("nan")
    return {"n_pairs": n, "dim": d, "snr": snr, "rank": rank, "eigenvalues": mu, "mp_sigma2": sigma2,
            "mp_ratio": ratio, "mp_edge": edge, "outlier": float(mu[0]), "alignment": alignment,
            "participation": participation}


def family_accuracy(W, pairs):
    """3CosAdd over every ordered pair of the family's pairs (b - a + c -> d), the whole vocabulary
    as candidates."""
    queries, expected = pair_queries(pairs)
    if not queries:
        return float("nan")
    return float(np.mean(_answers(unit_rows(W), queries, "3cosadd") == np.asarray(expected)))


def closed_form_dims(run, dims=None):
    """Embeddings of the leading d closed-form dimensions, W_d = V_d diag(max(lambda, 0)^p), for the
    log-spaced sizes dims (default: 4, 8, ..., up to the eigenpairs available)."""
    if run.spectrum is None:
        raise ValueError(f"{run.path} has no eigenpairs (/spectrum): run the closed form, or use checkpoints")
    vectors, values = run.spectrum.eigenvectors, run.spectrum.eigenvalues
    p = getattr(run.settings, "eig_power", 0.5)
    top = vectors.shape[1]
    if dims is None:
        dims = sorted({d for d in (2 ** k for k in range(2, 20)) if d <= top} | {top})
    for d in dims:
        if d > top:
            raise ValueError(f"{run.path} holds {top} eigenpairs, fewer than d = {d}")
        yield d, vectors[:, :d] * np.maximum(values[:d], 0) ** p


def linear_representations(run, questions, families=None, dims=None, checkpoints=False):
    """Per family, the statistics along embedding size d (closed form) or along training steps
    (checkpoints=True: the run's /train/checkpoints, each at full d). Returns
    {"axis": "dim" | "step", "points": [...], "families": {name: {"section", "n_pairs",
    "snr": [...], "accuracy": [...], "mp_sigma2": [...], "mp_ratio": [...], "mp_edge": [...],
    "outlier": [...], "participation": [...], "alignment": last point's per-dimension alignment,
    "spectrum": last point's eigenvalues of R R^T / d}}}. Families with fewer than 2 pairs in
    the vocabulary are left out."""
    if isinstance(questions, str):
        questions = read_analogies(questions)
    families = families or FAMILIES
    pairs = {name: family_pairs(run, questions, section) for name, section in families.items()}
    pairs = {name: p for name, p in pairs.items() if len(p) >= 2}
    if checkpoints:
        points = run.checkpoints()
        if not points:
            raise ValueError(f"{run.path} has no /train/checkpoints")
        axis = "step"
    else:
        points = list(closed_form_dims(run, dims))
        axis = "dim"
    out = {"axis": axis, "points": [int(x) for x, _ in points], "families": {}}
    for name, p in pairs.items():
        rec = {"section": families[name], "n_pairs": len(p)}
        for key in ("snr", "accuracy", "mp_sigma2", "mp_ratio", "mp_edge", "outlier", "participation"):
            rec[key] = []
        a = np.array([x for x, _ in p])
        b = np.array([y for _, y in p])
        for _, W in points:
            st = spiked_statistics(W[b] - W[a])
            for key in ("snr", "mp_sigma2", "mp_ratio", "mp_edge", "outlier", "participation"):
                rec[key].append(st[key])
            rec["accuracy"].append(family_accuracy(W, p))
            rec["alignment"], rec["spectrum"] = st["alignment"], st["eigenvalues"]
        out["families"][name] = rec
    return out


def write_analysis(result, path, source):
    """The result as HDF5: /analysis attributes (source, axis) and points, and one group per
    family with its series (written whole, as PATH.partial renamed at the end)."""
    import os

    import h5py
    partial = path + ".partial"
    with h5py.File(partial, "w") as f:
        g = f.create_group("analysis")
        g.attrs["source"] = source
        g.attrs["axis"] = result["axis"]
        g.attrs["definitions"] = __doc__
        g["points"] = np.asarray(result["points"], dtype=np.int64)
        for name, rec in result["families"].items():
            h = g.create_group(name)
            h.attrs["section"] = rec["section"]
            h.attrs["n_pairs"] = rec["n_pairs"]
            for key in ("snr", "accuracy", "mp_sigma2", "mp_ratio", "mp_edge", "outlier", "participation"):
                h[key] = np.asarray(rec[key], dtype=np.float64)
            h["alignment"] = rec["alignment"]
            h["spectrum"] = rec["spectrum"]
    os.replace(partial, path)


def plot_analysis(result, out_dir):
    """snr.png and accuracy.png against the axis, and mp_FAMILY.png (the last point's spectrum of
    R R^T / d beside the fitted Marchenko-Pastur density, the outlier marked). Returns the paths."""
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(out_dir, exist_ok=True)
    x = result["points"]
    label = "embedding dimension d (leading closed-form dimensions)" if result["axis"] == "dim" else "training step"
    written = []
    for key, ylabel in (("snr", "SNR = lambda_max / (Tr / rank) of R R^T"), ("accuracy", "family analogy accuracy")):
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for name, rec in result["families"].items():
            ax.plot(np.maximum(x, 1), rec[key], "o-", ms=3, label=f"{name} ({rec['n_pairs']} pairs)")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, key + ".png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    for name, rec in result["families"].items():
        mu = rec["spectrum"]
        sigma2, ratio = rec["mp_sigma2"][-1], rec["mp_ratio"][-1]
        nonzero = mu[mu > mu[0] * 1e-10]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.hist(nonzero[1:], bins=30, density=True, alpha=0.6, label="eigenvalues of R R^T / d (bulk)")
        grid = np.linspace(0, max(rec["mp_edge"][-1], nonzero[1:].max() if len(nonzero) > 1 else 1) * 1.1, 400)
        ax.plot(grid, marchenko_pastur_density(grid, ratio, sigma2), "k-",
                label=f"Marchenko-Pastur, sigma^2 = {sigma2:.3g}, gamma = {ratio:.2f}")
        ax.axvline(rec["outlier"][-1], color="r", ls="--", label=f"outlier {rec['outlier'][-1]:.3g}")
        ax.axvline(rec["mp_edge"][-1], color="gray", ls=":", label="MP edge")
        ax.set_xlabel("eigenvalue")
        ax.set_title(f"{name}, {label.split(' (')[0]} = {x[-1]}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, f"mp_{name}.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written
