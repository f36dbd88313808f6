#!/usr/bin/env bash
# Pair-sampling SGD, qwem-dist binaries (or git revisions) side by side at one setting
# (issue 14): REPEATS runs of each, interleaved (A B A B ...) so that both see the same hours of a
# noisy machine; pair updates/s per core (/train@updates_per_second_per_rank) per run and the
# median, and each binary's median over the first's; and, from binaries that record them
# (/train@step_seconds_*, since d4b1425), the median milliseconds per step in each part of the
# step (sample, gradient, step, exchange). Gutenberg, V = 10k, L = 16, d = 200, from
# small init; the counts are saved once (with the first binary) and loaded by every run, the
# spectrum is recorded only at the first and last step.
# OPTIONS: the run's training options, e.g. "--loss sgns --negatives 5 --subsample 1e-4 --lr 100
# --pair-precision single" (pairs.sh's SGNS) or "--loss qwem --negatives 1 --lr 4
# --pair-precision single" (its QWEM).
# Usage: bash share/bench/pairs_ab.sh "OPTIONS" BIN_OR_REV [BIN_OR_REV...]   (one: its speed and step parts alone)
#        (env: REPEATS=5, STEPS=300, BATCH=50000, NP=1, BUILD=build for the counts' binary)
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bash share/bench/pairs_ab.sh \"OPTIONS\" BIN_OR_REV [BIN_OR_REV...]" >&2; exit 2; }
REPEATS=${REPEATS:-5}
STEPS=${STEPS:-300}
BATCH=${BATCH:-50000}
NP=${NP:-1}
OPTIONS=$1
shift
source "$(dirname "$0")/common.sh"
bench_start pairsab "${BUILD:-}"
LABELS=("$@") BINS=()
for b in "$@"; do BINS+=("$(bench_binary "$b" "${#BINS[@]}")"); done

mpirun -n 2 "${BINS[0]}" --corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --save-cooccurrence \
  --analogies none --similarity none --concepts 0 --out "$WORK/eig.h5" >"$WORK/eig.log"
COMMON=(--counts-from "$WORK/eig.h5" --eigen-from "$WORK/eig.h5" --dim 200 --mode sgd --init-scale 1e-3
        --log-every 100000 --checkpoints 1 --analogies none --similarity none --concepts 0 --steps "$STEPS"
        --batch "$BATCH")
read -r -a EXTRA <<<"$OPTIONS"

PARTS=(sample gradient step exchange)
# measure FILE: the run's pair updates/s per core, then ms per step in each of PARTS (nan if not recorded)
measure() {
  /usr/bin/python3 - "$1" "$STEPS" "${PARTS[@]}" <<'EOF'
import sys, h5py
a = h5py.File(sys.argv[1])["/train"].attrs
steps = int(sys.argv[2])
parts = [1e3 * a["step_seconds_" + p] / steps if "step_seconds_" + p in a else float("nan") for p in sys.argv[3:]]
print(a["updates_per_second_per_rank"], *parts)
EOF
}
declare -A RUNS PART
for r in $(seq "$REPEATS"); do
  for k in "${!BINS[@]}"; do
    mpirun -n "$NP" "${BINS[$k]}" "${COMMON[@]}" "${EXTRA[@]}" --out "$WORK/run.h5" >"$WORK/run.log" 2>&1
    read -r rate parts <<<"$(measure "$WORK/run.h5")"
    RUNS[$k]+="$rate "
    read -r -a ms <<<"$parts"
    for p in "${!PARTS[@]}"; do PART[$k,$p]+="${ms[$p]} "; done
  done
done

echo "Gutenberg, V = 10000, d = 200, batch $BATCH, $STEPS steps, $NP rank(s), $REPEATS interleaved runs each: $OPTIONS"
first=$(printf '%s\n' ${RUNS[0]} | median)
for k in "${!BINS[@]}"; do
  m=$(printf '%s\n' ${RUNS[$k]} | median)
  printf '%-24s median %6.3fM  (%5.2fx)  runs:%s\n' "${LABELS[$k]}" \
    "$(awk -v m="$m" 'BEGIN {print m / 1e6}')" "$(awk -v m="$m" -v f="$first" 'BEGIN {print m / f}')" \
    "$(printf '%s\n' ${RUNS[$k]} | awk '{printf " %.2fM", $1 / 1e6}')"
  recorded=$(printf '%s\n' ${PART[$k,0]} | { grep -v nan || true; })
  [ -n "$recorded" ] || { echo "    (no step_seconds_* in its output)"; continue; }
  line="    ms per step:"
  for p in "${!PARTS[@]}"; do
    line+=" ${PARTS[$p]} $(printf '%s\n' ${PART[$k,$p]} | median | awk '{printf "%.2f", $1}')"
  done
  echo "$line"
done
