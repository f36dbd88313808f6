#!/usr/bin/env bash
# Do two builds of qwem-dist give the same results? Runs the same commands with both, on the
# bundled corpus and on Gutenberg (../shared/data), and compares every output file object by
# object (share/bench/compare_outputs.py: counts, vocabulary, eigenpairs, embeddings, evaluation,
# /train series and checkpoints; bit for bit unless the script lists a tolerance) and the
# word2vec exports byte for byte. For a change that must keep behaviour (a refactoring).
#
# Usage: bash share/bench/same_results.sh BEFORE [AFTER] [NP]
#   BEFORE, AFTER: a qwem-dist binary, or a git revision of this checkout to build in a temporary
#   worktree (AFTER defaults to build/qwem-dist); NP ranks (default 2).
#   QWEM_SKIP_GUTENBERG=1 runs only the bundled-corpus commands.
set -uo pipefail
source "$(dirname "$0")/common.sh"
bench_start same "${QWEM_BUILD:-build}"
NP=${3:-2}
SHARE=$PWD/share

BEFORE=$(bench_binary "$1" before) || exit 1
AFTER=$(bench_binary "${2:-$BUILD/qwem-dist}" after) || exit 1
echo "before: $BEFORE"
echo "after:  $AFTER"

B=$SHARE/corpus
G=$WORK/corpus
# name|arguments (each run writes --out itself; @DIR@ is the run's own folder, for exports; @BEFORE@
# the folder of the first build's outputs, which both builds read as input)
RUNS=(
  "mstar-sparse|--corpus $B --vocab-size 2000 --dim 20 --operator sparse --save-cooccurrence --full-spectrum --export-w2v @DIR@/w2v.txt"
  "mstar-dense-nu2|--corpus $B --vocab-size 1000 --dim 12 --operator dense --ns-weight 2 --eig-power 1 --export-w2v @DIR@/w2v.bin"
  "ppmi|--corpus $B --vocab-size 1500 --dim 16 --target ppmi --operator sparse --window 5"
  "pmi|--corpus $B --vocab-size 800 --dim 10 --target pmi --operator sparse --min-count 3 --concepts 4"
  "counts-only|--corpus $B --vocab-size 3000 --window 8 --counts-only --save-cooccurrence --count-buffer-mb 1"
  "sgd-qwem|--corpus $B --vocab-size 400 --dim 10 --mode sgd --loss qwem --negatives 2 --steps 400 --batch 8192 --lr 16 --lr-schedule linear --init-scale 1e-2 --log-every 10 --eval-every 100"
  "sgd-sgns|--corpus $B --vocab-size 400 --dim 8 --mode sgd --loss sgns --negatives 5 --subsample 1e-3 --steps 200 --batch 4096 --lr 4 --init-scale 1e-2 --similarity none"
  "sgd-local|--corpus $B --vocab-size 300 --dim 6 --mode sgd --loss qwem --sync-every 4 --steps 200 --batch 4096 --lr 8 --init-scale 1e-2 --analogies none"
  "windows|--corpus $B --vocab-size 1000 --dim 32 --mode sgd --loss sgns --sampling windows --negatives 5 --subsample 1e-4 --batch 65536 --lr 0.025 --lr-schedule linear --steps 13"
  "windows-tied|--corpus $B --vocab-size 500 --dim 16 --mode sgd --loss sgns --sampling windows --output-vectors tied --context-group 0 --batch 100000 --steps 4"
  "gd|--corpus $B --vocab-size 300 --dim 4 --mode gd --steps 1500 --lr 1.5 --init-scale 1e-3"
  "eigen-from|--corpus $B --vocab-size 2000 --dim 20 --mode sgd --steps 50 --batch 4096 --lr 8 --init-scale 1e-2 --eigen-from @BEFORE@/mstar-sparse.h5"
)
if [ "${QWEM_SKIP_GUTENBERG:-0}" != 1 ]; then
  RUNS+=(
    "gutenberg-mstar|--corpus $G --vocab-size 10000 --window 16 --dim 200 --similarity none --save-cooccurrence"
    "gutenberg-sgd|--corpus $G --vocab-size 10000 --dim 50 --mode sgd --loss sgns --negatives 5 --steps 60 --batch 16384 --lr 400 --init-scale 1e-3 --checkpoints 3 --eigen-from @BEFORE@/gutenberg-mstar.h5"
    "gutenberg-windows|--corpus $G --vocab-size 10000 --dim 100 --mode sgd --loss sgns --sampling windows --negatives 5 --subsample 1e-4 --batch 65536 --lr 0.025 --steps 30 --analogies none"
  )
fi

FAIL=0
for which in before after; do
  bin=$BEFORE; [ $which = after ] && bin=$AFTER
  mkdir -p "$WORK/$which"
  for run in "${RUNS[@]}"; do
    name=${run%%|*}
    args=${run#*|}
    mkdir -p "$WORK/$which/$name"
    args=${args//@DIR@/$WORK/$which/$name}
    args=${args//@BEFORE@/$WORK/before}
    if ! mpirun -q -n "$NP" "$bin" $args --out "$WORK/$which/$name.h5" >"$WORK/$which/$name.log" 2>&1; then
      echo "FAIL $which $name: exit status $? (log: $(tail -n 1 "$WORK/$which/$name.log"))"
      FAIL=1
    fi
  done
done

for run in "${RUNS[@]}"; do
  name=${run%%|*}
  [ -f "$WORK/before/$name.h5" ] && [ -f "$WORK/after/$name.h5" ] || continue
  if /usr/bin/python3 "$SHARE/bench/compare_outputs.py" "$WORK/before/$name.h5" "$WORK/after/$name.h5" >"$WORK/$name.diff"; then
    echo "same $name ($(tail -n 1 "$WORK/$name.diff" | sed 's/.*: //'))"
  else
    echo "DIFFERENT $name"; sed 's/^/    /' "$WORK/$name.diff"; FAIL=1
  fi
  for export in "$WORK/before/$name"/*; do
    [ -f "$export" ] || continue
    if cmp -s "$export" "$WORK/after/$name/$(basename "$export")"; then echo "same $name/$(basename "$export") (byte for byte)"
    else echo "DIFFERENT $name/$(basename "$export")"; FAIL=1; fi
  done
done
[ $FAIL -eq 0 ] && echo "all results the same" || echo "results differ"
exit $FAIL
