#!/usr/bin/env bash
# The closed-form oracle of SCIENCE.md section 7 on the Gutenberg corpus (19.0M words, V = 10k,
# L = 16, d = 200), end to end through qwem-dist on NP ranks: top eigenvalues 1664.0, 1227.1,
# 1145.1, 1020.3, 908.2 and lambda_200 = 195.6 for M*; standard analogy 35.8% of 4,433
# questions for QWEM and 39.0% for PPMI. Skipped (exit 77) when ../shared/data is absent.
# Usage: oracle_gutenberg.sh QWEM_DIST NP DATA_DIR
set -euo pipefail
BIN=$1; NP=$2; DATA=$3
if [ ! -f "$DATA/gutenberg.txt.xz" ]; then echo "skipped: $DATA/gutenberg.txt.xz not found"; exit 77; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/qwem-oracle-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/corpus"
xz -dc "$DATA/gutenberg.txt.xz" >"$WORK/corpus/gutenberg.txt"
for t in mstar ppmi; do
  mpirun -q -n "$NP" "$BIN" --corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --target $t \
    --out "$WORK/$t.h5" --similarity none | grep -E "eigensolve|analogy \(standard|done"
done
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py, numpy as np
work = sys.argv[1]
m = h5py.File(f"{work}/mstar.h5", "r")
lam = m["/spectrum/eigenvalues"][:]
want = [1664.0, 1227.1, 1145.1, 1020.3, 908.2]
assert np.allclose(np.round(lam[:5], 1), want), lam[:5]
assert round(float(lam[199]), 1) == 195.6, lam[199]
for t, acc in [("mstar", 35.8), ("ppmi", 39.0)]:
    a = h5py.File(f"{work}/{t}.h5", "r")["/eval/analogy_standard"].attrs
    got = (round(100 * float(a["overall_accuracy"]), 1), int(a["overall_total"]))
    assert got == (acc, 4433), (t, got)
    print(f"{t}: {got[0]}% of {got[1]} (oracle {acc}% of 4433)")
print("eigenvalues:", np.round(lam[:5], 1), "lambda_200 =", round(float(lam[199]), 1))
PY
echo "1 passed, 0 failed"
