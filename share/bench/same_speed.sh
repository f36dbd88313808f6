#!/usr/bin/env bash
# Is one build as fast as another? The companion of same_results.sh for a change that must keep
# speed (a refactoring): the same runs on Gutenberg (19.0M words, V = 10k, L = 16) with both
# builds, interleaved (before, after, after, before, ...) REPS times, and a table of medians and
# after/before ratios of each phase:
#   count-1, count-2   --counts-only on 1 and 2 ranks: count phase, its pair loop, reduce
#   closed-2           the closed form end to end on 2 ranks (d = 200): target, eigensolve, total
#   pairs-2, windows-2 200 SGD steps at d = 200 on 2 ranks (SGNS pairs; word2vec's windows):
#                      train phase and pair updates/s per rank
# Usage: bash share/bench/same_speed.sh BEFORE [AFTER] [REPS]
#   BEFORE, AFTER: a qwem-dist binary or a git revision (built in a worktree); AFTER defaults to
#   build/qwem-dist; REPS defaults to 3.
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start speed "${QWEM_BUILD:-build}"
REPS=${3:-3}
BEFORE=$(bench_binary "$1" before)
AFTER=$(bench_binary "${2:-$BUILD/qwem-dist}" after)
echo "before: $BEFORE"
echo "after:  $AFTER"

G=(--corpus "$WORK/corpus" --vocab-size 10000 --window 16)
NOEVAL=(--analogies none --similarity none --concepts 0)
SGD=(--dim 200 --mode sgd --steps 200 --init-scale 1e-3 --log-every 100000 --checkpoints 1 --eigen-from "$WORK/eig.h5")
# name|ranks|arguments
RUNS=(
  "count-1|1|--counts-only"
  "count-2|2|--counts-only"
  "closed-2|2|--dim 200"
  "pairs-2|2|${SGD[*]} --loss sgns --negatives 5 --subsample 1e-4 --batch 16384 --lr 100 --lr-schedule linear"
  "windows-2|2|${SGD[*]} --loss sgns --sampling windows --negatives 5 --subsample 1e-4 --batch 65536 --lr 0.025"
)
# The eigenpairs the SGD runs load (their theory curves), once.
mpirun -n 2 "$AFTER" "${G[@]}" --dim 200 "${NOEVAL[@]}" --out "$WORK/eig.h5" >"$WORK/eig.log"

for rep in $(seq "$REPS"); do
  order="before after"
  [ $((rep % 2)) -eq 0 ] && order="after before"
  for run in "${RUNS[@]}"; do
    IFS='|' read -r name np args <<<"$run"
    for which in $order; do
      bin=$BEFORE
      [ "$which" = after ] && bin=$AFTER
      extra=("${NOEVAL[@]}")
      [ "$name" = closed-2 ] && extra=()  # end to end, with the evaluation
      mpirun -n "$np" "$bin" "${G[@]}" $args "${extra[@]}" --out "$WORK/$name-$which-$rep.h5" >"$WORK/$name-$which-$rep.log"
    done
  done
done

/usr/bin/python3 - "$WORK" "$REPS" <<'PY'
import sys, statistics as st, h5py
work, reps = sys.argv[1], int(sys.argv[2])
runs = ["count-1", "count-2", "closed-2", "pairs-2", "windows-2"]
def metrics(path):
    f = h5py.File(path, "r")
    t = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
    m = {"total s": sum(t.values())}
    for phase in ["count", "reduce", "target", "eigensolve", "train"]:
        if phase in t: m[phase + " s"] = t[phase]
    if "count" in t: m["pair loop s"] = f["/timings"].attrs["count_pair_loop_seconds_max"]
    if "/train" in f: m["pair updates/s/rank"] = f["/train"].attrs["updates_per_second_per_rank"]
    return m
print(f"\nmedians of {reps} interleaved runs; ratio = after / before (below 1: after is faster, but for updates/s)\n")
print("| run | quantity | before | after | ratio |")
print("|---|---|---|---|---|")
for run in runs:
    b = [metrics(f"{work}/{run}-before-{r}.h5") for r in range(1, reps + 1)]
    a = [metrics(f"{work}/{run}-after-{r}.h5") for r in range(1, reps + 1)]
    for q in [q for q in b[0] if q in a[0]]:  # a phase only one build runs is left out
        mb, ma = st.median(x[q] for x in b), st.median(x[q] for x in a)
        print(f"| {run} | {q} | {mb:.4g} | {ma:.4g} | {ma / mb:.3f} |")
PY
