#!/usr/bin/env bash
# Smoothed negatives (--negative-smoothing beta) against the unigram's, for QWEM by pair sampling
# with the paper's weights: the same expected gradient, less variance. With negatives drawn from
# nu P_i P_j, a pair of rare words weighs c / (nu P_i P_j), up to 1 / (P_i P_j V^2) times a
# uniform pair's (about 10^4 at V = 10k); drawn from Q = (1 - beta) P + beta / V and weighted by
# P_i P_j / (Q_i Q_j), at most 1 / beta^2 times.
# Gutenberg at V = 2,000, L = 16, d = 50, nu = 1, 2 ranks, from small init (--init-scale 1e-3),
# batches of 16,384 positives with one negative each, to tau = 0.3 (where the coupled theory has
# about 35 of the 50 modes switched on): at --lr 12 (25,000 steps) with and without smoothing,
# and at --lr 50 (6,000 steps). The coupled theory uses 100 eigenpairs.
# The table: whether the run diverged, the largest switch-on error of the top 10 modes against the
# coupled theory (and the mode-by-mode one), the coupled theory's max error, the modes switched
# on by the end (of 50), the top-1/5/10 overlap with M*'s eigenvectors, pair updates/s per rank.
# Usage: bash share/bench/negative_smoothing.sh [BUILD_DIR]   (about 8 minutes)
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start smoothing "${1:-}"

bench_save_counts 2000
bench_from_counts mstar --dim 100
cell() {  # cell NAME LR BETA
  local steps=$((300000 / $2))
  bench_from_counts "$1" --dim 50 --mode sgd --loss qwem --negatives 1 --batch 16384 --lr "$2" --steps "$steps" \
    --init-scale 1e-3 --negative-smoothing "$3" --theory-modes 100 --analogies none --eigen-from "$WORK/mstar.h5" \
    2>>"$WORK/$1.log" || true
  echo "$1 $2 $3 $steps" >>"$WORK/cells"
}
cell unigram-12 12 0
cell smoothed-12 12 0.5
cell unigram-50 50 0
cell smoothed-50 50 0.5

/usr/bin/python3 - "$WORK" <<'PY'
import os, sys
import h5py, numpy as np
work = sys.argv[1]
print("\n| negatives | --lr | steps | result | switch-on error, top 10: coupled / mode by mode | coupled max error "
      "| modes on (of 50) | overlap top-1 / 5 / 10 | pair updates/s per rank |")
print("|---|---|---|---|---|---|---|---|---|")
for line in open(os.path.join(work, "cells")):
    name, lr, beta, steps = line.split()
    what = "unigram" if float(beta) == 0 else f"smoothed, beta {beta}"
    path = os.path.join(work, name + ".h5")
    if not os.path.exists(path):
        print(f"| {what} | {lr} | {steps} | diverged | | | | | |")
        continue
    t = h5py.File(path)["train"]
    m = t["switch_on_tau"][:]
    ov = t["overlap"][-1]
    print(f"| {what} | {lr} | {steps} | done | {100 * t.attrs['switch_on_coupled_error_top10']:.1f}% / "
          f"{100 * t.attrs['switch_on_error_top10']:.1f}% | {t.attrs['theory_coupled_max_error_top10']:.3f} "
          f"| {int(np.isfinite(m).sum())} | {ov[0]:.3f} / {ov[4]:.3f} / {ov[9]:.3f} "
          f"| {t.attrs['updates_per_second_per_rank'] / 1e6:.2f}M |")
PY
