#!/usr/bin/python3
"""Plots of a qwem-dist result (closed form or training run) from its HDF5 output.

    /usr/bin/python3 share/plot_dynamics.py qwem.h5 [--out-dir plots] [--modes 10] [--time tau|tau1]
                                            [--compare OTHER.h5]

Writes PNG files into --out-dir (default: next to the input, FILE_plots/), those the file has data for:
  singular_values.png  measured singular values of W (solid), the theory's sqrt(a_k(tau)) (dashed)
                       and the discrete-step theory (dotted) against rescaled time tau, or
                       t / tau_1 with --time tau1, log axis: the paper's Fig. 2 (training runs)
  loss.png             loss against step (training runs)
  overlap.png          overlap of W's top-k singular subspace with M*'s top-k eigenvectors over time
  accuracy.png         analogy accuracy (standard and pair protocols) against step, labelled with
                       the number of questions it rests on
  spectrum.png         the target's top-d eigenvalues by rank, and its full spectrum (--full-spectrum)
  concepts.png         the top concepts (eigenvectors of M*) and their extreme words, as a table
--compare OTHER.h5 draws a second training run beside the first in singular_values.png and
overlap.png (dash-dotted, same colours per mode, each run on its own tau): for example SGNS beside
QWEM on the same corpus (README, Learning dynamics). A run of another M* (a different lambda_1)
is drawn with a warning.
Prints one line per file written. Needs Debian's python3-h5py, numpy, matplotlib (/usr/bin/python3).
"""
import argparse
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("--out-dir")
    ap.add_argument("--modes", type=int, default=10, help="singular values to draw")
    ap.add_argument("--time", choices=["tau", "tau1"], default="tau",
                    help="x axis of the singular values: tau, or t / tau_1 with tau_1 = ln(lambda_1 / a_0) / lambda_1 "
                         "(the paper's axis; /train@tau_1)")
    ap.add_argument("--compare", metavar="OTHER.h5", help="a second training run drawn beside the first")
    args = ap.parse_args()
    try:
        f = h5py.File(args.file, "r")
    except OSError as e:
        sys.exit(f"plot_dynamics: cannot open {args.file}: {e}")
    out_dir = args.out_dir or os.path.splitext(args.file)[0] + "_plots"
    os.makedirs(out_dir, exist_ok=True)
    written = []

    def save(fig, name):
        fig.tight_layout()
        path = os.path.join(out_dir, name + ".png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)

    if "train" in f:
        plot_training(f, args, save)
    elif "spectrum" not in f:
        sys.exit(f"plot_dynamics: {args.file} has neither /train nor /spectrum: nothing to plot")
    plot_spectrum(f, args, save)
    for p in written:
        print(p)


def plot_spectrum(f, args, save):
    title = os.path.basename(args.file)
    if "spectrum" in f:
        s = f["spectrum"]
        lam = s["eigenvalues"][:]
        target = text(s.attrs.get("target", "?"))
        full = s["full_eigenvalues"][:] if "full_eigenvalues" in s else None
        fig, axes = plt.subplots(1, 2 if full is not None else 1, figsize=(10 if full is not None else 6, 4))
        axes = np.atleast_1d(axes)
        positive = lam > 0
        axes[0].loglog(np.arange(1, len(lam) + 1)[positive], lam[positive], ".-")
        axes[0].set_xlabel("rank k")
        axes[0].set_ylabel("eigenvalue lambda_k")
        axes[0].set_title(f"{title}: top {len(lam)} eigenvalues of {target}", fontsize=9)
        if full is not None:
            axes[1].hist(full, bins=100, color="gray")
            axes[1].set_yscale("log")
            axes[1].set_xlabel("eigenvalue")
            axes[1].set_ylabel("count")
            axes[1].set_title(f"full spectrum ({len(full)} eigenvalues; min {full.min():.3g}, max {full.max():.3g})",
                              fontsize=9)
        save(fig, "spectrum")

    # Concepts: the extreme words of the top eigenvectors.
    if "concepts" in f:
        c = f["concepts"]
        lam = c["eigenvalues"][:]
        top = [text(w) for w in c["top_words"][:]]
        bottom = [text(w) for w in c["bottom_words"][:]]
        m = len(top) // max(1, len(lam))
        fig, ax = plt.subplots(figsize=(9, 0.45 * len(lam) + 0.8))
        ax.axis("off")
        for i in range(len(lam)):
            line = f"{i + 1:2d} (lambda {lam[i]:.1f})  + {' '.join(top[i * m:(i + 1) * m][:6])}   |   - " \
                   f"{' '.join(bottom[i * m:(i + 1) * m][:6])}"
            ax.text(0, 1 - (i + 0.5) / len(lam), line, family="monospace", fontsize=8, va="center")
        ax.set_title("top concepts of M* (largest / smallest eigenvector entries)", fontsize=9)
        save(fig, "concepts")


def run_time(t, path, args):
    """A training run's time axis for the plots (tau, or t / tau_1 with --time tau1)."""
    tau = t["tau"][:]
    if args.time == "tau1":
        if "tau_1" not in t.attrs:
            sys.exit(f"plot_dynamics: {path} has no /train@tau_1 (a run with theory curves records it)")
        tau = tau / t.attrs["tau_1"]
    return tau


def compared_run(f, args):
    """--compare: (label, its /train group, its time axis), or None."""
    if not args.compare:
        return None
    try:
        other = h5py.File(args.compare, "r")
    except OSError as e:
        sys.exit(f"plot_dynamics: cannot open {args.compare}: {e}")
    if "train" not in other:
        sys.exit(f"plot_dynamics: {args.compare} has no /train: --compare needs a training run")
    t, o = f["train"], other["train"]
    if "eigenvalues" in t and "eigenvalues" in o:
        l1, l2 = float(t["eigenvalues"][0]), float(o["eigenvalues"][0])
        if abs(l1 - l2) > 1e-6 * max(abs(l1), abs(l2)):
            print(f"plot_dynamics: warning: {args.compare} trained towards another M* (lambda_1 {l2:.6g} against "
                  f"{l1:.6g})", file=sys.stderr)
    mode, loss_name = text(o.attrs["mode"]), text(o.attrs["loss"])
    label = f"{os.path.basename(args.compare)} ({mode}" + (f" {loss_name})" if mode == "sgd" else ")")
    return label, o, run_time(o, args.compare, args)


def plot_training(f, args, save):
    t = f["train"]
    mode, loss_name = text(t.attrs["mode"]), text(t.attrs["loss"])
    title = f"{os.path.basename(args.file)}: --mode {mode}" + (f" --loss {loss_name}" if mode == "sgd" else "")
    step = t["step"][:]
    tau = run_time(t, args.file, args)
    time_label = "rescaled time tau (see /train@tau_definition)"
    if args.time == "tau1":
        time_label = "t / tau_1, tau_1 = ln(lambda_1 / a_0) / lambda_1"
    other = compared_run(f, args)
    dash_dot_dot = (0, (4, 1.5, 1, 1.5, 1, 1.5))
    sv = t["singular_values"][:]
    # 1. Singular values against rescaled time, measured and theory (Fig. 2 of the paper).
    k = min(args.modes, sv.shape[1])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.cm.viridis(np.linspace(0, 0.9, k))
    positive = tau > 0
    for m in range(k):
        ax.plot(tau[positive], sv[positive, m], color=colors[m], lw=1.5, label=f"s_{m + 1}" if m < 5 else None)
    if other:
        label, o, otau = other
        osv, opos = o["singular_values"][:], otau > 0
        drawn = min(k, osv.shape[1])
        for m in range(drawn):
            ax.plot(otau[opos], osv[opos, m], color=colors[m], lw=1.2, ls=dash_dot_dot)
        ax.plot([], [], color="gray", lw=1.2, ls=dash_dot_dot, label=label)
        print(f"plot_dynamics: compared with {label}: {drawn} singular values drawn", file=sys.stderr)
    if "theory_singular_values" in t:
        th = t["theory_singular_values"][:]
        for m in range(min(k, th.shape[1])):
            ax.plot(tau[positive], th[positive, m], color=colors[m], lw=1, ls="--")
        ax.plot([], [], color="gray", ls="--", label="theory sqrt(a_k(tau))")
        if "theory_discrete_singular_values" in t:
            td = t["theory_discrete_singular_values"][:]
            for m in range(min(k, td.shape[1])):
                ax.plot(tau[positive], td[positive, m], color=colors[m], lw=1, ls=":")
            ax.plot([], [], color="gray", ls=":", label="discrete-step theory")
        coupled_note = ""
        if "theory_coupled_singular_values" in t:
            # The coupled theory gives W's d singular values (sorted, like the measured ones).
            tc = t["theory_coupled_singular_values"][:]
            for m in range(min(k, tc.shape[1])):
                ax.plot(tau[positive], tc[positive, m], color=colors[m], lw=1, ls="-.")
            ax.plot([], [], color="gray", ls="-.", label="coupled theory")
            coupled_note = f", coupled {t.attrs.get('theory_coupled_max_error_top10', float('nan')):.3f}"
        error = t.attrs.get("theory_max_error_top10", t.attrs.get("theory_agreement_top10", float("nan")))
        discrete = t.attrs.get("theory_discrete_max_error_top10", float("nan"))
        ax.set_title(f"{title}\nmax error |s - s_theory| / sqrt(lambda), top 10 (lower is better): "
                     f"{error:.3f}, discrete {discrete:.3f}{coupled_note}", fontsize=9)
    else:
        ax.set_title(title, fontsize=9)
    ax.set_xscale("log")
    ax.set_xlabel(time_label)
    ax.set_ylabel("singular value of W")
    ax.legend(fontsize=8)
    save(fig, "singular_values")

    # Switch-on times per mode (a_k reaching lambda_k / 2), measured and by each theory.
    if "switch_on_tau" in t and "switch_on_tau_theory" in t:
        measured = t["switch_on_tau"][:]
        modes = np.arange(1, len(measured) + 1)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(modes, measured, "ko", label="measured")
        for name, style, label in (("switch_on_tau_theory", "b--", "theory"),
                                   ("switch_on_tau_discrete", "g:", "discrete-step theory"),
                                   ("switch_on_tau_coupled", "r-.", "coupled theory")):
            if name in t:
                ax.plot(modes, t[name][:len(modes)], style, marker=".", label=label)
        ax.set_xlabel("mode k (M*'s eigenvalue order)")
        ax.set_ylabel("switch-on tau (a_k = lambda_k / 2)")
        ax.legend(fontsize=8)
        ax.set_title(f"{title}\nswitch-on error, top 10: theory "
                     f"{100 * t.attrs.get('switch_on_error_top10', float('nan')):.1f}%, coupled "
                     f"{100 * t.attrs.get('switch_on_coupled_error_top10', float('nan')):.2f}%\n"
                     "(a mode that never switched on has no point)", fontsize=8)
        save(fig, "switch_on")

    # Overlap of the top-k subspaces over time.
    if "overlap" in t:
        ov = t["overlap"][:]
        fig, ax = plt.subplots(figsize=(6, 4))
        oov = other[1]["overlap"][:] if other and "overlap" in other[1] else None
        for i, k in enumerate(sorted({1, min(5, ov.shape[1]), ov.shape[1]})):
            ax.plot(tau[positive], ov[positive, k - 1], color=f"C{i}", label=f"top-{k}")
            if oov is not None and oov.shape[1] >= k:
                label, _, otau = other
                ax.plot(otau[otau > 0], oov[otau > 0, k - 1], color=f"C{i}", ls=dash_dot_dot, label=f"top-{k}, {label}")
                print(f"plot_dynamics: compared with {label}: top-{k} overlap drawn", file=sys.stderr)
        ax.set_xscale("log")
        ax.set_xlabel(time_label)
        ax.set_ylabel("subspace overlap with M*'s eigenvectors")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
        save(fig, "overlap")

    # 2. Loss.
    loss = t["loss"][:]
    ok = np.isfinite(loss) & (step > 0)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(step[ok], loss[ok])
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("||M* - W W^T||_F^2 / V^2" if loss_name == "qwem" or mode == "gd" else "SGNS loss per positive")
    ax.set_title(title, fontsize=9)
    save(fig, "loss")

    # 3. Analogy accuracy over time.
    if "eval_step" in t:
        es = t["eval_step"][:]
        fig, ax = plt.subplots(figsize=(6, 4))
        n_std = f["eval/analogy_standard"].attrs.get("overall_total", "?") if "eval/analogy_standard" in f else "?"
        n_pair = f["eval/analogy_pairs"].attrs.get("overall_total", "?") if "eval/analogy_pairs" in f else "?"
        ax.plot(np.maximum(es, 1), 100 * t["analogy_accuracy"][:], "o-", label=f"standard 3CosAdd ({n_std} questions)")
        ax.plot(np.maximum(es, 1), 100 * t["analogy_pair_accuracy"][:], "s--", label=f"pair protocol ({n_pair} analogies)")
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("analogy accuracy (%)")
        ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
        save(fig, "accuracy")



if __name__ == "__main__":
    main()
