#!/usr/bin/env bash
# The paper's experiments (Karkada et al., NeurIPS 2025) in one command, at a chosen size:
#
#   bash share/paper/reproduce.sh [CORPUS [OUT [PRESET]]]
#
# CORPUS  a file or folder (default: the bundled sample, share/corpus)
# OUT     a new folder for the results (default: ./paper-PRESET); an existing one is refused
# PRESET  tiny    the bundled sample at V = 400, d = 10, short training (about a minute; CI runs it)
#         sample  the bundled sample at V = 400, d = 10, the README's training settings
#         full    V = 10000, d = 200 (the paper's size), SGNS for 5 epochs, QWEM by SGD for
#                 --steps auto (the theory's horizon for the schedule: --lr 40 with smoothed
#                 negatives, x0.1 from step 60,000; on Gutenberg 98,545 steps, about 23 minutes
#                 on 2 ranks; QWEM_SGD_STEPS=N caps it, and the table says how far it got);
#                 the ablation at V = 2000, d = 50, nu = 2 with
#                 share/bench/ablation.sh's rates, 100,000 steps per cell (about 35 minutes: at
#                 V = 10k its cells get nowhere in a comparable budget)
# Environment: NP ranks (default 2), BUILD (default build), QWEM_BIN (default BUILD/qwem-dist),
# MPIRUN (default mpirun, or srun ... inside an allocation, as jobs/paper.sbatch does; add
# --allow-run-as-root --oversubscribe to mpirun as needed), QWEM_SGD_STEPS, QWEM_ABLATION_STEPS.
#
# What it runs, each into OUT/NAME.h5 with its log OUT/NAME.log:
#   mstar     the closed form of M* (QWEM), with the counts saved (the others reuse them)
#   ppmi, pmi the baselines on the same counts (--counts-from)
#   sgns      word2vec (SGNS, word2vec's own stream, --no-theory)
#   qwem_sgd  QWEM trained by SGD from small init, pair sampling, theory curves from its own
#             eigensolve (max(2d, d + 50) eigenpairs, for the coupled theory)
#   ablation_mstar  the closed form at the ablation's size (its counts and eigenpairs)
#   ablation_LOSS_WEIGHTS  the appendix ablation: loss {qwem, sgns} x weights {qwem, word2vec},
#             pair sampling, the same steps for every cell (the preset's; full: 100000, or
#             QWEM_ABLATION_STEPS), the rate x0.1 for the last quarter; full: the settings of
#             share/bench/ablation.sh (V = 2000, d = 50, nu = 2; --lr 12 with the paper's
#             weights, 300 with word2vec's, whose negatives pair with the positive's word)
# then plots of mstar and qwem_sgd (OUT/plots_*), the linear representations of the analogy
# families against d (OUT/linear.h5, OUT/plots_linear), and OUT/table.md: analogy accuracy
# (the paper's pair protocol and the standard one) and word similarity for every method beside
# the paper's pair-protocol numbers (its Wikipedia corpus is about 100x larger than Gutenberg),
# and the ablation's accuracy beside the reference code's own runs (COCA+NOW, 41M words).
set -euo pipefail
HERE=$(cd "$(dirname "$0")/../.." && pwd)
CORPUS=${1:-$HERE/share/corpus}
PRESET=${3:-sample}
OUT=${2:-paper-$PRESET}
NP=${NP:-2}
BUILD=${BUILD:-$HERE/build}
read -r -a MPI <<<"${MPIRUN:-mpirun}"
BIN=${QWEM_BIN:-$BUILD/qwem-dist}
PY=/usr/bin/python3
export PYTHONPATH=$HERE/share/python${PYTHONPATH:+:$PYTHONPATH}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

fail() { echo "reproduce: error: $*" >&2; exit 1; }
[ -x "$BIN" ] || fail "no qwem-dist at $BIN (build it first, or set BUILD)"
[ -e "$CORPUS" ] || fail "no corpus at $CORPUS"
[ -e "$OUT" ] && fail "$OUT exists: name a new folder (nothing is overwritten)"
case "$PRESET" in
  tiny)   COMMON=(--vocab-size 400 --window 16 --dim 10)
          SGD=(--negatives 2 --steps 300 --batch 24576 --lr 16 --lr-schedule linear --init-scale 1e-2)
          ABL_COUNT=(--vocab-size 400 --window 16) ABL_TARGET=(--dim 10) ABL_W2V=()
          ABLATION=(--negatives 2 --batch 24576 --init-scale 1e-2) ABL_STEPS=300 ABL_LR=(16 16)
          EPOCHS=1 ;;
  sample) COMMON=(--vocab-size 400 --window 16 --dim 10)
          SGD=(--negatives 2 --steps 3000 --batch 24576 --lr 16 --lr-schedule linear --init-scale 1e-2)
          ABL_COUNT=(--vocab-size 400 --window 16) ABL_TARGET=(--dim 10) ABL_W2V=()
          ABLATION=(--negatives 2 --batch 24576 --init-scale 1e-2) ABL_STEPS=3000 ABL_LR=(16 16)
          EPOCHS=5 ;;
  full)   COMMON=(--vocab-size 10000 --window 16 --dim 200)
          SGD=(--negatives 1 --steps "${QWEM_SGD_STEPS:-auto}" --batch 65536 --lr 40 --negative-smoothing 0.5
               --lr-drop auto --lr-drop-factor 0.25 --init-scale 1e-3 --pair-precision single)
          ABL_COUNT=(--vocab-size 2000 --window 16) ABL_TARGET=(--dim 50 --ns-weight 2) ABL_W2V=(--negative-pairing target)
          ABLATION=(--negatives 1 --batch 16384 --init-scale 1e-3) ABL_STEPS=${QWEM_ABLATION_STEPS:-100000}
          ABL_LR=(12 300)
          EPOCHS=5 ;;
  *) fail "unknown preset '$PRESET' (tiny, sample or full)" ;;
esac
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "reproduce: preset $PRESET, corpus $CORPUS, $NP ranks, into $OUT"

run() {  # run NAME qwem-dist-options...: OUT/NAME.h5 and OUT/NAME.log; its summary line
  local name=$1
  shift
  local t0=$SECONDS
  "${MPI[@]}" -n "$NP" "$BIN" "$@" --out "$OUT/$name.h5" >"$OUT/$name.log" 2>&1 ||
    fail "$name failed (status $?): see $OUT/$name.log"
  echo "reproduce: $name ($((SECONDS - t0)) s): $(tail -n 1 "$OUT/$name.log" | sed 's/^\[[^]]*\] //')"
}

run mstar --corpus "$CORPUS" "${COMMON[@]}" --save-cooccurrence
run ppmi --counts-from "$OUT/mstar.h5" --dim "${COMMON[5]}" --target ppmi
run pmi --counts-from "$OUT/mstar.h5" --dim "${COMMON[5]}" --target pmi
# word2vec: EPOCHS passes over the in-vocabulary tokens, 65536 positions per step.
TOKENS=$($PY -c "import h5py,sys; print(h5py.File(sys.argv[1])['/corpus'].attrs['n_in_vocab_tokens'])" "$OUT/mstar.h5")
run sgns --corpus "$CORPUS" "${COMMON[@]}" --mode sgd --loss sgns --sampling windows --no-theory --negatives 5 \
  --subsample 1e-4 --batch 65536 --lr 0.025 --lr-schedule linear --steps $(( (EPOCHS * TOKENS + 65535) / 65536 )) \
  --init-scale 1e-3 --checkpoints 1
run qwem_sgd --corpus "$CORPUS" "${COMMON[@]}" --mode sgd --loss qwem "${SGD[@]}"  # its own eigenpairs: --theory-modes
# The ablation at its size, from its own closed form's counts and eigenpairs: ABL_COUNT (the
# vocabulary and window, which --counts-from carries), ABL_TARGET (d and the target's nu, which
# it does not); ABL_LR = (rate with qwem weights, with word2vec's).
run ablation_mstar --corpus "$CORPUS" "${ABL_COUNT[@]}" "${ABL_TARGET[@]}" --save-cooccurrence
ABL_FROM=(--counts-from "$OUT/ablation_mstar.h5" --eigen-from "$OUT/ablation_mstar.h5")
for loss in qwem sgns; do
  run "ablation_${loss}_qwem" "${ABL_FROM[@]}" "${ABL_TARGET[@]}" --mode sgd --loss "$loss" --weights qwem \
    "${ABLATION[@]}" --steps "$ABL_STEPS" --lr-drop $((ABL_STEPS * 3 / 4)) --lr "${ABL_LR[0]}"
  run "ablation_${loss}_word2vec" "${ABL_FROM[@]}" "${ABL_TARGET[@]}" --mode sgd --loss "$loss" --weights word2vec \
    --subsample 1e-5 "${ABL_W2V[@]}" "${ABLATION[@]}" --steps "$ABL_STEPS" --lr-drop $((ABL_STEPS * 3 / 4)) \
    --lr "${ABL_LR[1]}"
done

$PY "$HERE/share/plot_dynamics.py" "$OUT/mstar.h5" --out-dir "$OUT/plots_mstar" >/dev/null
$PY "$HERE/share/plot_dynamics.py" "$OUT/qwem_sgd.h5" --out-dir "$OUT/plots_qwem_sgd" --time tau1 >/dev/null
$PY -m qwem linear "$OUT/mstar.h5" --out "$OUT/linear.h5" --plots "$OUT/plots_linear" >"$OUT/linear.log"
echo "reproduce: plots in $OUT/plots_*, linear representations in $OUT/linear.h5"

$PY "$HERE/share/paper/table.py" "$OUT" "$PRESET" "$CORPUS" >"$OUT/table.md"
cat "$OUT/table.md"
echo "reproduce: done; the table is $OUT/table.md"
