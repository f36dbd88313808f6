#!/usr/bin/env bash
# Benchmark of the SGD dynamics mode (issue 4), side by side in one run on the same corpus:
#   1. qwem-dist --mode sgd at d = 200 (spectrum recorded only at the first and last step) on Gutenberg (V = 10k, L = 16), QWEM and SGNS (5
#      negatives, subsample 1e-4), on 1 and 2 ranks: pair updates/s per rank (positives plus
#      negatives, one d-dim dot product and two row updates each), median of REPEATS runs;
#   2. qwem-dist --sampling windows (word2vec's stream, negatives shared per window, separate
#      output vectors; --batch 65536 positions per step) on 1 and 2 ranks: words/s per core
#      (corpus positions per second per rank, as gensim counts words) and pair updates/s;
#   3. gensim Word2Vec (python3-gensim, skip-gram, the same V, d, window, negatives and
#      subsampling) with 1 worker: words/s per core, and pair updates/s counted the same way.
# Accuracy against gensim's: share/bench/dynamics_accuracy.sh.
# word2vec's window is shrunk uniformly at random, so offset j is used with probability
# (L+1-j)/L: the same weighting as qwem-dist's positives, which are drawn from the (L+1-j)-
# weighted counts. A "word" of gensim is one position of the corpus; per retained word it
# trains 2 E[b] = L+1 positive pairs, each with 5 negatives.
# Learning rates: qwem-dist's --lr multiplies the batch-mean gradient, so word2vec's per-pair
# alpha = 0.025 corresponds to --lr 0.025 x batch; the rates do not depend on it.
# Usage: bash share/bench/dynamics.sh [BUILD_DIR]   (env: REPEATS=3, STEPS=300, WSTEPS=300)
set -euo pipefail
REPEATS=${REPEATS:-3}
STEPS=${STEPS:-300}
source "$(dirname "$0")/common.sh"
bench_start bench4 "${1:-}"
COMMON=(--corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --mode sgd --init-scale 1e-3 --log-every 100000 --checkpoints 1
        --analogies none --similarity none --concepts 0 --eigen-from "$WORK/eig.h5")

# The eigenpairs once (the SGD runs load them instead of solving again).
mpirun -n 2 "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 \
  --analogies none --similarity none --concepts 0 --out "$WORK/eig.h5" >"$WORK/eig.log"

rate() {  # rate NP NAME OPTIONS...: "pair updates/s per rank" "corpus positions/s per rank" of one run
  local np=$1 name=$2
  shift 2
  mpirun -n "$np" "$BUILD/qwem-dist" "${COMMON[@]}" "$@" --out "$WORK/$name.h5" >"$WORK/$name.log"
  /usr/bin/python3 -c "import h5py,sys; a=h5py.File(sys.argv[1])['/train'].attrs; \
print(a['updates_per_second_per_rank'], int(a['steps']) * int(a['batch']) / a['train_seconds'] / int(sys.argv[2]))" \
    "$WORK/$name.h5" "$np"
}

QWEM=(--loss qwem --negatives 1 --batch 16384 --lr 4 --steps "$STEPS")
SGNS=(--loss sgns --negatives 5 --subsample 1e-4 --batch 16384 --lr 100 --lr-schedule linear --steps "$STEPS")
# Windows: WSTEPS steps of 65536 positions (the default 300 is about one epoch of Gutenberg).
WIN=(--loss sgns --sampling windows --negatives 5 --subsample 1e-4 --batch 65536 --lr 0.025 --lr-schedule linear
     --steps "${WSTEPS:-300}")
declare -A R W
for np in 1 2; do
  for loss in qwem sgns windows; do
    vals=()
    wvals=()
    for r in $(seq "$REPEATS"); do
      case $loss in
        qwem) out=$(rate "$np" "$loss$np-$r" "${QWEM[@]}") ;;
        sgns) out=$(rate "$np" "$loss$np-$r" "${SGNS[@]}") ;;
        windows) out=$(rate "$np" "$loss$np-$r" "${WIN[@]}") ;;
      esac
      vals+=("${out% *}")
      wvals+=("${out#* }")
    done
    R[$loss$np]=$(printf '%s\n' "${vals[@]}" | median)
    W[$loss$np]=$(printf '%s\n' "${wvals[@]}" | median)
  done
done

# gensim: speed with 1 worker (per core) over one epoch; the vocabulary is qwem-dist's.
/usr/bin/python3 - "$WORK" <<'PY' >"$WORK/gensim.txt"
import sys, time, h5py, numpy as np
from gensim.models import Word2Vec
work = sys.argv[1]
words = [w.decode() for w in h5py.File(f"{work}/eig.h5", "r")["/vocab/words"][:]]
keep = set(words)
text = open(f"{work}/corpus/gutenberg.txt").read().split()
# qwem-dist removes out-of-vocabulary tokens before windowing; so does this filter.
ids = [w for w in text if w in keep]
sentences = [ids[i:i + 10000] for i in range(0, len(ids), 10000)]
n_words = len(ids)
m = Word2Vec(vector_size=200, window=16, sg=1, negative=5, sample=1e-4, min_count=1, workers=1, seed=1)
m.build_vocab(sentences)
t0 = time.time()
effective, raw = m.train(sentences, total_examples=len(sentences), epochs=1)
secs = time.time() - t0
# Positive pairs per retained word: 2 E[b] = L + 1 = 17 (b uniform in 1..16), at the ends fewer.
positives = effective * 17
print(f"gensim_words_per_s {raw / secs:.0f}")
print(f"gensim_effective_per_s {effective / secs:.0f}")
print(f"gensim_updates_per_s {positives * 6 / secs:.0f}")
print(f"gensim_epoch_s {secs:.1f}")
PY
g() { sed -n "s/^$1 //p" "$WORK/gensim.txt"; }

WPS=$(g gensim_words_per_s)
UPS=$(g gensim_updates_per_s)
EFF=$(g gensim_effective_per_s)
echo
echo "Gutenberg, V = 10000, L = 16, d = 200; median of $REPEATS runs: pairs $STEPS steps x 16384 positives, windows ${WSTEPS:-300} steps x 65536 positions"
printf '| %-44s | %14s | %14s |\n' "run" "pair updates/s/core" "words/s/core"
printf '|%s|%s|%s|\n' "----------------------------------------------" "----------------" "----------------"
for np in 1 2; do
  for loss in qwem sgns windows; do
    case $loss in
      # pairs: words/s equivalent through gensim's 17 x 6 pair updates per retained word and its retained fraction
      sgns) wps=$(echo "${R[$loss$np]} / 102 * $WPS / $EFF" | bc -l) ;;
      windows) wps=${W[$loss$np]} ;;
      *) wps="" ;;
    esac
    name="qwem-dist $loss, $np rank(s)"
    [ $loss = windows ] && name="qwem-dist sgns --sampling windows, $np rank(s)"
    printf '| %-44s | %14.0f | %14s |\n' "$name" "${R[$loss$np]}" "${wps:+$(printf '%.0f' "$wps")}"
  done
done
printf '| %-44s | %14.0f | %14.0f |\n' "gensim Word2Vec sg, 1 worker" "$UPS" "$WPS"
echo
echo "words/s per core against gensim (1 worker): windows 2 ranks $(echo "${W[windows2]} / $WPS" | bc -l | cut -c1-5)x," \
  "windows 1 rank $(echo "${W[windows1]} / $WPS" | bc -l | cut -c1-5)x, pairs 2 ranks $(echo "${R[sgns2]} / $UPS" | bc -l | cut -c1-5)x"
echo "gensim: one epoch in $(g gensim_epoch_s) s on 1 worker"
