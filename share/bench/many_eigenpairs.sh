#!/usr/bin/env bash
# Many eigenpairs and the full spectrum (issue 13 item 3): Gutenberg, V = 10k, L = 16, 2 ranks,
# from one set of saved counts. The block solver and ScaLAPACK's pdsyevr at d = 1,000, ScaLAPACK
# at d = 4,096 (the paper's linear-representation analysis), and every eigenvalue
# (--full-spectrum, ScaLAPACK without eigenvectors). Each run once (they take minutes): eigensolve
# (or target, where the full spectrum is computed) seconds, peak memory per rank, largest
# residual, and for d = 1,000 the largest difference between the two solvers' eigenvalues.
# Usage: bash share/bench/many_eigenpairs.sh [BUILD_DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start many "${1:-}"

bench_save_counts 10000
run() { bench_from_counts "$@" --analogies none; }
run block-1000 --dim 1000
run scalapack-1000 --dim 1000 --eigensolver scalapack
run scalapack-4096 --dim 4096 --eigensolver scalapack
run full-spectrum --dim 200 --full-spectrum

/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
print("| run | phase | seconds | peak RSS GiB/rank | max residual | products |")
print("|---|---|---|---|---|---|")
for name, phase in [("block-1000", "eigensolve"), ("scalapack-1000", "eigensolve"), ("scalapack-4096", "eigensolve"),
                    ("full-spectrum", "target")]:
    f = h5py.File(f"{work}/{name}.h5", "r")
    ph = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
    rss = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/peak_rss_bytes_max"][:]))
    res = np.max(f["/spectrum/residuals"][:]) if name != "full-spectrum" else float("nan")
    print(f"| {name} | {phase} | {ph[phase]:.1f} | {rss[phase] / 2**30:.2f} | {res:.1e} | "
          f"{f['/spectrum'].attrs['n_matvecs']} |")
a = h5py.File(f"{work}/block-1000.h5", "r")["/spectrum/eigenvalues"][:]
b = h5py.File(f"{work}/scalapack-1000.h5", "r")["/spectrum/eigenvalues"][:]
full = h5py.File(f"{work}/full-spectrum.h5", "r")["/spectrum/full_eigenvalues"][:]
print(f"d = 1000: largest relative eigenvalue difference, block vs ScaLAPACK: {np.max(np.abs(a - b) / np.abs(b)):.1e}; "
      f"full spectrum's top 1000 vs ScaLAPACK's: {np.max(np.abs(full[:1000] - b) / np.abs(b)):.1e}; "
      f"lambda_min = {full[-1]:.1f}, positive eigenvalues: {int(np.sum(full > 0))} of {len(full)}")
PY
