#!/usr/bin/env python3
"""Issue 14's Fig. 2 targets, read from a training run's HDF5 output, record by record.

    /usr/bin/python3 share/bench/fig2_targets.py RUN.h5 [--from-step N] [--sv-ratio 0.9] [--overlap 0.99]

For each record from step N on: the rate, how many of W's singular values (sorted) are at least
RATIO sqrt(lambda_k) and the smallest ratio, the top-1/5/10 overlaps with M*'s eigenvectors, and
the same count for the coupled theory; then the first record where every singular value and the
top-5 overlap meet their targets (or "none"); then, in bands of modes, how many switched on (a_k
reached lambda_k / 2) in the run and in the coupled theory, and the run's switch-on tau against
the theory's (median and largest relative difference over the modes switched on in both).
"""
import argparse

import h5py
import numpy as np

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("run")
parser.add_argument("--from-step", type=int, default=0)
parser.add_argument("--sv-ratio", type=float, default=0.9)
parser.add_argument("--overlap", type=float, default=0.99)
args = parser.parse_args()

train = h5py.File(args.run, "r")["/train"]
d = train["singular_values"].shape[1]
root = np.sqrt(train["eigenvalues"][:d])
overlap = train["overlap"][:]
coupled = train["theory_coupled_singular_values"][:] if "theory_coupled_singular_values" in train else None
print(f"{args.run}: {train.attrs['completed_steps']} steps, d = {d}, {train.attrs['train_seconds']:.0f} s of training")
print("| step | tau | lr | s_k >= r sqrt(lambda_k) | smallest ratio | top-1/5/10 overlap | coupled theory |")
print("|---|---|---|---|---|---|---|")
first = None
for i, step in enumerate(train["step"][:]):
    ratio = train["singular_values"][i] / root
    met = int((ratio >= args.sv_ratio).sum())
    if first is None and met == d and overlap[i, min(4, overlap.shape[1] - 1)] >= args.overlap:
        first = step
    if step < args.from_step:
        continue
    theory = "-" if coupled is None else str(int((coupled[i] / root >= args.sv_ratio).sum()))
    tops = " / ".join(f"{overlap[i, min(k, overlap.shape[1] - 1)]:.3f}" for k in (0, 4, 9))
    print(f"| {step} | {train['tau'][i]:.4f} | {train['lr'][i]:g} | {met} | {ratio.min():.3f} | {tops} | {theory} |")
print(f"first record meeting both targets: {'none' if first is None else f'step {first}'}")

if "switch_on_tau_coupled" in train:
    run, theory = train["switch_on_tau"][:], train["switch_on_tau_coupled"][:]
    print("\n| modes | switched on: run | coupled theory | switch-on tau against the theory: median | largest |")
    print("|---|---|---|---|---|")
    bands = [b for b in (0, 10, 50, 100, 150, 200, 300, 400) if b < d] + [d]
    for lo, hi in zip(bands, bands[1:]):
        r, t = run[lo:hi], theory[lo:hi]
        both = np.isfinite(r) & np.isfinite(t)
        off = np.abs(r[both] / t[both] - 1)
        stats = f"{100 * np.median(off):.1f}% | {100 * off.max():.1f}%" if both.any() else "- | -"
        print(f"| {lo + 1}-{hi} | {int(np.isfinite(r).sum())} | {int(np.isfinite(t).sum())} | {stats} |")
