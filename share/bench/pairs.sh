#!/usr/bin/env bash
# Benchmark of pair-sampling SGD (issue 14), side by side in one run: a baseline revision against
# this checkout's build in double, in single precision (--pair-precision), and in single precision
# with shared negatives (--negative-pairing shared, --negative-group 16), on the same counts (Gutenberg, V = 10k, L = 16, saved once and loaded
# with --counts-from), d = 200, from small init, spectrum recorded only at the first and last
# step:
#   * QWEM (--negatives 1) and SGNS (--negatives 5, subsample 1e-4), exact data-parallel mode;
#   * global batches of 16,384 positives (the dynamics benchmark's) and 50,000 (the paper's);
#   * 1 and 2 ranks: pair updates/s per core (positives plus negatives, each one d-dim score and
#     two row updates; /train@updates_per_second_per_rank), median of REPEATS runs, and the
#     per-core efficiency of 2 ranks against 1.
# Usage: bash share/bench/pairs.sh [BASELINE_REV] [BUILD_DIR]   (env: REPEATS=3, STEPS=150)
set -euo pipefail
REPEATS=${REPEATS:-3}
STEPS=${STEPS:-150}
BASE_REV=${1:-14acf70}
source "$(dirname "$0")/common.sh"
bench_start bench14 "${2:-}"
NEW="$(cd "$BUILD" && pwd)/qwem-dist"
OLD=$(bench_binary "$BASE_REV" base)

# The counts and eigenpairs once.
mpirun -n 2 "$NEW" --corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --save-cooccurrence \
  --analogies none --similarity none --concepts 0 --out "$WORK/eig.h5" >"$WORK/eig.log"
COMMON=(--counts-from "$WORK/eig.h5" --eigen-from "$WORK/eig.h5" --dim 200 --mode sgd --init-scale 1e-3
        --log-every 100000 --checkpoints 1 --analogies none --similarity none --concepts 0 --steps "$STEPS")
QWEM=(--loss qwem --negatives 1 --lr 4)
SGNS=(--loss sgns --negatives 5 --subsample 1e-4 --lr 100)

rate() {  # rate BINARY NP NAME OPTIONS...: pair updates/s per rank of one run
  local bin=$1 np=$2 name=$3
  shift 3
  mpirun -n "$np" "$bin" "${COMMON[@]}" "$@" --out "$WORK/$name.h5" >"$WORK/$name.log" 2>&1
  /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['/train'].attrs['updates_per_second_per_rank'])" \
    "$WORK/$name.h5"
}

declare -A R
for batch in 16384 50000; do
  for loss in qwem sgns; do
    for np in 1 2; do
      for which in old new single shared; do
        bin=$NEW
        [ $which = old ] && bin=$OLD
        opts=("${QWEM[@]}")
        [ $loss = sgns ] && opts=("${SGNS[@]}")
        [ $which = single ] && opts+=(--pair-precision single)
        [ $which = shared ] && opts+=(--pair-precision single --negative-pairing shared)
        vals=()
        for r in $(seq "$REPEATS"); do vals+=("$(rate "$bin" "$np" "$which-$loss-$batch-$np-$r" "${opts[@]}" --batch "$batch")"); done
        R[$which-$loss-$batch-$np]=$(printf '%s\n' "${vals[@]}" | median)
      done
    done
  done
done

echo
echo "Gutenberg, V = 10000, L = 16, d = 200, exact mode; median of $REPEATS runs of $STEPS steps; baseline $BASE_REV"
printf '| %-28s | %16s | %18s | %18s | %18s | %7s | %7s | %13s |\n' "run" "baseline /s/core" "double /s/core" \
  "single /s/core" "shared /s/core" "double" "single" "shared/single"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------" "------------------" "--------------------" \
  "--------------------" "--------------------" "---------" "---------" "---------------"
for batch in 16384 50000; do
  for loss in qwem sgns; do
    for np in 1 2; do
      o=${R[old-$loss-$batch-$np]} n=${R[new-$loss-$batch-$np]} f=${R[single-$loss-$batch-$np]}
      h=${R[shared-$loss-$batch-$np]}
      printf '| %-28s | %16.0f | %18.0f | %18.0f | %18.0f | %6.2fx | %6.2fx | %12.2fx |\n' \
        "$loss, batch $batch, $np rank(s)" "$o" "$n" "$f" "$h" "$(echo "$n / $o" | bc -l)" "$(echo "$f / $o" | bc -l)" \
        "$(echo "$h / $f" | bc -l)"
    done
    eff() { echo "100 * ${R[$1-$loss-$batch-2]} / ${R[$1-$loss-$batch-1]}" | bc -l; }
    printf '| %-28s | %15.0f%% | %17.0f%% | %17.0f%% | %17.0f%% | %7s | %7s | %13s |\n' "  2-rank efficiency per core" \
      "$(eff old)" "$(eff new)" "$(eff single)" "$(eff shared)" "" "" ""
  done
done
echo "(speedups: double and single against the baseline, shared against single; median against median)"
