#!/usr/bin/env bash
# Analogy accuracy of qwem-dist's SGNS against gensim's after the same amount of data (issue 4),
# on Gutenberg (V = 10k, L = 16, d = 200, 5 negatives, subsample 1e-4):
#   * gensim Word2Vec skip-gram, one pass over the first FRACTION of the corpus (2 workers,
#     alpha 0.025 decaying linearly, as word2vec does);
#   * qwem-dist --mode sgd --loss sgns on 2 ranks, for as many kept positives as gensim trained
#     (its effective words x 17, the mean 2 b of word2vec's shrunk window), with the same
#     per-pair learning rate (--lr 0.025 x batch, linear decay).
# Not "at convergence": a full comparison needs several epochs, hours for qwem-dist here.
# Usage: bash share/bench/dynamics_accuracy.sh [BUILD_DIR]   (env: FRACTION=0.5)
set -euo pipefail
FRACTION=${FRACTION:-0.5}
BATCH=16384
source "$(dirname "$0")/common.sh"
bench_start bench4a "${1:-}"
SETTINGS=(--corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --similarity none --concepts 0)
mpirun -n 2 "$BUILD/qwem-dist" "${SETTINGS[@]}" --analogies none --out "$WORK/eig.h5" >"$WORK/eig.log"

/usr/bin/python3 - "$WORK" "$DATA/questions-words.txt" "$FRACTION" <<'PY' >"$WORK/gensim.txt"
import sys, time, h5py
from gensim.models import Word2Vec
work, questions, fraction = sys.argv[1], sys.argv[2], float(sys.argv[3])
words = [w.decode() for w in h5py.File(f"{work}/eig.h5", "r")["/vocab/words"][:]]
keep = set(words)
ids = [w for w in open(f"{work}/corpus/gutenberg.txt").read().split() if w in keep]
ids = ids[:int(len(ids) * fraction)]
sentences = [ids[i:i + 10000] for i in range(0, len(ids), 10000)]
m = Word2Vec(vector_size=200, window=16, sg=1, negative=5, sample=1e-4, min_count=1, workers=2, seed=1)
m.build_vocab(sentences)
t0 = time.time()
effective, raw = m.train(sentences, total_examples=len(sentences), epochs=1)
secs = time.time() - t0
score, sections = m.wv.evaluate_word_analogies(questions, restrict_vocab=len(words), case_insensitive=True)
t = [s for s in sections if s["section"] == "Total accuracy"][0]
print(f"positives {effective * 17}")
print(f"seconds {secs:.1f}")
print(f"accuracy {len(t['correct']) / (len(t['correct']) + len(t['incorrect'])):.4f}")
PY
g() { sed -n "s/^$1 //p" "$WORK/gensim.txt"; }

# Kept fraction of drawn positives under subsampling, from a short run: /train@... has the
# pair updates; 6 per kept positive, counted over both ranks.
probe() {
  mpirun -n 2 "$BUILD/qwem-dist" "${SETTINGS[@]}" --analogies none --mode sgd --loss sgns --negatives 5 \
    --subsample 1e-4 --batch $BATCH --lr 1 --steps 50 --log-every 100000 --checkpoints 1 --eigen-from "$WORK/eig.h5" \
    --out "$WORK/probe.h5" >/dev/null
  /usr/bin/python3 -c "import h5py,sys; a=h5py.File(sys.argv[1])['/train'].attrs; \
print(a['updates_per_second_per_rank'] * 2 * a['train_seconds'] / 6 / (50 * $BATCH))" "$WORK/probe.h5"
}
KEPT=$(probe)
STEPS=$(/usr/bin/python3 -c "import math; print(math.ceil($(g positives) / ($BATCH * $KEPT)))")
LR=$(echo "0.025 * $BATCH" | bc -l)
/usr/bin/time -f "%e" -o "$WORK/q.time" mpirun -n 2 "$BUILD/qwem-dist" "${SETTINGS[@]}" --mode sgd --loss sgns \
  --negatives 5 --subsample 1e-4 --batch $BATCH --lr "$LR" --lr-schedule linear --steps "$STEPS" --init-scale 1e-3 \
  --analogies share/questions-words.txt --eigen-from "$WORK/eig.h5" --out "$WORK/q.h5" >"$WORK/q.log"
ACC=$(/usr/bin/python3 -c "import h5py,sys; print(round(h5py.File(sys.argv[1])['/eval/analogy_standard'].attrs['overall_accuracy'], 4))" "$WORK/q.h5")
echo "data: $FRACTION of one epoch of Gutenberg = $(g positives) positive pairs (kept fraction of drawn: $KEPT)"
echo "| run | analogy accuracy (standard) | wall s |"
echo "|---|---|---|"
echo "| gensim Word2Vec sg, 2 workers | $(g accuracy) | $(g seconds) |"
echo "| qwem-dist sgns, 2 ranks, $STEPS steps x $BATCH | $ACC | $(cat "$WORK/q.time") |"
