#!/usr/bin/env bash
# Parallel efficiency of every phase from 1 to 2 ranks (issue 13 item 4): the closed form end to
# end on Gutenberg (V = 10k, L = 16, d = 200) at 1 and 2 ranks, REPS interleaved runs (default 3),
# medians per phase, and efficiency = T(1 rank) / (2 T(2 ranks)).
# Usage: bash share/bench/efficiency.sh [BUILD_DIR] [REPS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start eff "${1:-}"
REPS=${2:-3}
for rep in $(seq "$REPS"); do
  for np in 1 2; do
    mpirun -n "$np" "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size 10000 --dim 200 --progress-seconds 0 \
      --out "$WORK/np$np-$rep.h5" >"$WORK/np$np-$rep.log"
  done
done
/usr/bin/python3 - "$WORK" "$REPS" <<'PY'
import sys, statistics, h5py
work, reps = sys.argv[1], int(sys.argv[2])
def phases(np_, rep):
    f = h5py.File(f"{work}/np{np_}-{rep}.h5", "r")
    return dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
runs = {n: [phases(n, r) for r in range(1, reps + 1)] for n in (1, 2)}
names = [p for p in runs[1][0] if p != "discover"] + ["total"]
print(f"| phase | 1 rank s | 2 ranks s | efficiency |")
print("|---|---|---|---|")
for p in names:
    t = {n: statistics.median(sum(r.values()) if p == "total" else r[p] for r in runs[n]) for n in (1, 2)}
    print(f"| {p} | {t[1]:.2f} | {t[2]:.2f} | {t[1] / (2 * t[2]):.2f} |")
PY
