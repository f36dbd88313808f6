#!/usr/bin/env bash
# What the machine allows two cores for pair-sampling SGD (issue 14, item 2), side by side in
# one run: the per-core rate of
#   solo      one 1-rank run alone on the machine;
#   2 copies  two independent 1-rank runs at the same time (no communication, no shared work:
#             what the cores' shared memory system leaves each of them);
#   exact     one 2-rank run in the exact data-parallel mode (replicated draws + all-gather of W);
#   local     one 2-rank run of local SGD that never averages (--sync-every beyond the run).
# "2 copies" / "solo" is the ceiling of any 2-rank efficiency on this machine: if it is far below
# 1, the cores' shared resources (on this VM, two vCPUs that do not double the throughput of
# this kernel), not the algorithm, limit the scaling.
# By default QWEM, one negative, batch 16,384, from the Gutenberg counts at V = 10k, d = 200 and
# V = 2k, d = 50, --no-theory (no eigensolve), W's spectrum recorded only at the first and last
# step (the rate counts the whole training loop), median of REPEATS runs of STEPS steps.
# OPTIONS and BATCH change the setting, e.g. issue 14's fastest: OPTIONS="--loss qwem --negatives 5
# --lr 4 --negative-pairing shared --pair-precision single" BATCH=50000 SIZES="10000 200".
# Usage: bash share/bench/pairs_ceiling.sh [BUILD_DIR]
#        (env: REPEATS=3, STEPS=300, OPTIONS, BATCH=16384, SIZES="10000 200,2000 50")
set -euo pipefail
REPEATS=${REPEATS:-3}
STEPS=${STEPS:-300}
OPTIONS=${OPTIONS:---loss qwem --negatives 1 --lr 4}
BATCH=${BATCH:-16384}
SIZES=${SIZES:-10000 200,2000 50}
read -r -a EXTRA <<<"$OPTIONS"
source "$(dirname "$0")/common.sh"
bench_start ceiling "${1:-}"
BIN="$(cd "$BUILD" && pwd)/qwem-dist"

rate() {  # rate FILE: pair updates/s per rank of one run's output
  /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['/train'].attrs['updates_per_second_per_rank'])" "$1"
}

echo "pair sampling, $OPTIONS, batch $BATCH, $STEPS steps, median of $REPEATS; pair updates/s per core"
printf '| %-22s | %12s | %12s | %12s | %12s | %10s | %10s |\n' "counts" "solo" "2 copies" "exact" "local" \
  "copies/solo" "exact/solo"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------" "--------------" "--------------" "--------------" \
  "--------------" "------------" "------------"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for size in "${SIZE_LIST[@]}"; do
  read -r V d <<<"$size"
  mpirun -n 2 "$BIN" --corpus "$WORK/corpus" --vocab-size "$V" --window 16 --dim 10 --counts-only \
    --save-cooccurrence --out "$WORK/counts-$V.h5" >/dev/null
  COMMON=(--counts-from "$WORK/counts-$V.h5" --dim "$d" --mode sgd "${EXTRA[@]}" --batch "$BATCH"
          --steps "$STEPS" --init-scale 1e-3 --no-theory --analogies none --similarity none --concepts 0
          --progress-seconds 0 --checkpoints 1 --log-every 100000)
  solo=() copies=() exact=() local=()
  for r in $(seq "$REPEATS"); do
    mpirun -n 1 "$BIN" "${COMMON[@]}" --out "$WORK/solo.h5" >/dev/null && solo+=("$(rate "$WORK/solo.h5")")
    mpirun -n 1 "$BIN" "${COMMON[@]}" --out "$WORK/a.h5" >/dev/null &
    mpirun -n 1 "$BIN" "${COMMON[@]}" --seed 2 --out "$WORK/b.h5" >/dev/null
    wait
    copies+=("$(rate "$WORK/a.h5")" "$(rate "$WORK/b.h5")")
    mpirun -n 2 "$BIN" "${COMMON[@]}" --out "$WORK/exact.h5" >/dev/null && exact+=("$(rate "$WORK/exact.h5")")
    mpirun -n 2 "$BIN" "${COMMON[@]}" --sync-every $((STEPS + 1)) --out "$WORK/local.h5" >/dev/null &&
      local+=("$(rate "$WORK/local.h5")")
    rm -f "$WORK"/{solo,a,b,exact,local}.h5
  done
  s=$(printf '%s\n' "${solo[@]}" | median) c=$(printf '%s\n' "${copies[@]}" | median)
  e=$(printf '%s\n' "${exact[@]}" | median) l=$(printf '%s\n' "${local[@]}" | median)
  printf '| %-22s | %12.0f | %12.0f | %12.0f | %12.0f | %10.2f | %10.2f |\n' "V = $V, d = $d" "$s" "$c" "$e" "$l" \
    "$(echo "$c / $s" | bc -l)" "$(echo "$e / $s" | bc -l)"
done
