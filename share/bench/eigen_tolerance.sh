#!/usr/bin/env bash
# Which eigensolver tolerance keeps the answers (issue 13): Gutenberg, V = 10k, L = 16, d = 200,
# 2 ranks. The counts are computed once (--save-cooccurrence); then the block solver at --eig-tol
# 1e-8 (double-precision products, the reference), 1e-6, 1e-5 and 1e-4, 1e-3, 1e-2 (single-precision
# products, checked in double), and SLEPc's Krylov-Schur at 1e-8, each from the same counts
# (--counts-from). For each: the eigensolve's time and products, the standard analogy answers
# question by question against the 1e-8 run, and ||W W^T - W0 W0^T||_F / ||W0 W0^T||_F.
# Usage: bash share/bench/eigen_tolerance.sh [BUILD_DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start eigtol "${1:-}"

bench_save_counts 10000
run() { bench_from_counts "$@" --dim 200; }
run block-1e-8 --eig-tol 1e-8
for tol in 1e-6 1e-5 1e-4 1e-3 1e-2; do run "block-$tol" --eig-tol "$tol"; done
run slepc-1e-8 --eigensolver slepc --eig-tol 1e-8

PYTHONPATH=share/python /usr/bin/python3 - "$WORK" "$DATA/questions-words.txt" <<'PY'
import sys, h5py, numpy as np
import qwem
from qwem.evaluate import read_analogies, unit_rows, _answers
work, questions = sys.argv[1], sys.argv[2]
names = ["block-1e-8", "block-1e-6", "block-1e-5", "block-1e-4", "block-1e-3", "block-1e-2", "slepc-1e-8"]

def answers(path):
    run = qwem.load(path)
    U = unit_rows(run.embeddings)
    queries, expected = [], []
    for _, items in read_analogies(questions):
        for w in items:
            ids = [run.index.get(x, -1) for x in w]
            if min(ids) >= 0:
                queries.append(ids[:3])
                expected.append(ids[3])
    return _answers(U, queries, "3cosadd"), np.asarray(expected), run.embeddings

ref_answers, expected, W0 = answers(f"{work}/block-1e-8.h5")
g0 = W0.T @ W0
print("| solver, --eig-tol | eigensolve s | products | max residual | lambda_200 | analogy correct | answers differing from 1e-8 | rel. diff of W W^T |")
print("|---|---|---|---|---|---|---|---|")
for name in names:
    f = h5py.File(f"{work}/{name}.h5", "r")
    phase = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
    sp = f["/spectrum"]
    got, _, W = answers(f"{work}/{name}.h5")
    g, cross = W.T @ W, W.T @ W0
    rel = np.sqrt(max(np.sum(g * g) + np.sum(g0 * g0) - 2 * np.sum(cross * cross), 0.0)) / np.sqrt(np.sum(g0 * g0))
    solver, tol = name.split("-", 1)
    print(f"| {solver} {tol} | {phase['eigensolve']:.2f} | {sp.attrs['n_matvecs']} | {np.max(sp['residuals'][:]):.1e} | "
          f"{sp['eigenvalues'][-1]:.4f} | {int((got == expected).sum())} of {len(expected)} | "
          f"{int((got != ref_answers).sum())} | {rel:.1e} |")
PY
