#!/usr/bin/env bash
# Analogy accuracy of qwem-dist's SGNS against gensim's after the same number of epochs (issue 4),
# on Gutenberg (V = 10k, L = 16, d = 200, 5 negatives, subsample 1e-4, alpha 0.025 decaying
# linearly to zero over the run, as word2vec does), side by side in one run:
#   * gensim Word2Vec skip-gram, EPOCHS passes over the corpus, 2 workers;
#   * qwem-dist --mode sgd --loss sgns --sampling windows on 2 ranks (word2vec's stream, separate
#     output vectors), EPOCHS passes: steps = ceil(EPOCHS x in-vocabulary tokens / BATCH).
# Both read the same in-vocabulary token stream (gensim gets qwem-dist's vocabulary).
# Scored by the standard protocol (3CosAdd over the V words, questions with all four words in
# the vocabulary): qwem-dist's own evaluation, gensim's evaluate_word_analogies (they agree on
# the same vectors: tests/gensim_check.sh).
# Usage: bash share/bench/dynamics_accuracy.sh [BUILD_DIR]   (env: EPOCHS=5, BATCH=65536, NP=2)
# (The pair-sampling comparison at one epoch in the README was measured with this script at
# commit effb682.)
set -euo pipefail
EPOCHS=${EPOCHS:-5}
BATCH=${BATCH:-65536}
NP=${NP:-2}
source "$(dirname "$0")/common.sh"
bench_start bench4a "${1:-}"
SETTINGS=(--corpus "$WORK/corpus" --vocab-size 10000 --window 16 --dim 200 --similarity none --concepts 0)
mpirun -n 2 "$BUILD/qwem-dist" "${SETTINGS[@]}" --analogies none --out "$WORK/eig.h5" >"$WORK/eig.log"

/usr/bin/python3 - "$WORK" "$DATA/questions-words.txt" "$EPOCHS" "$NP" <<'PY' >"$WORK/gensim.txt"
import sys, time, h5py
from gensim.models import Word2Vec
work, questions, epochs, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
words = [w.decode() for w in h5py.File(f"{work}/eig.h5", "r")["/vocab/words"][:]]
keep = set(words)
ids = [w for w in open(f"{work}/corpus/gutenberg.txt").read().split() if w in keep]
sentences = [ids[i:i + 10000] for i in range(0, len(ids), 10000)]
m = Word2Vec(vector_size=200, window=16, sg=1, negative=5, sample=1e-4, min_count=1, workers=workers, seed=1)
m.build_vocab(sentences)
t0 = time.time()
m.train(sentences, total_examples=len(sentences), epochs=epochs)
secs = time.time() - t0
score, sections = m.wv.evaluate_word_analogies(questions, restrict_vocab=len(words), case_insensitive=True)
t = [s for s in sections if s["section"] == "Total accuracy"][0]
print(f"seconds {secs:.1f}")
print(f"accuracy {len(t['correct']) / (len(t['correct']) + len(t['incorrect'])):.4f}")
print(f"questions {len(t['correct']) + len(t['incorrect'])}")
PY
g() { sed -n "s/^$1 //p" "$WORK/gensim.txt"; }

TOKENS=$(/usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['/corpus'].attrs['n_in_vocab_tokens'])" "$WORK/eig.h5")
STEPS=$(( (EPOCHS * TOKENS + BATCH - 1) / BATCH ))
mpirun -n "$NP" "$BUILD/qwem-dist" "${SETTINGS[@]}" --mode sgd --loss sgns --sampling windows --negatives 5 \
  --subsample 1e-4 --batch "$BATCH" --lr 0.025 --lr-schedule linear --steps "$STEPS" --init-scale 1e-3 \
  --log-every 100000 --checkpoints 1 --analogies share/questions-words.txt --eigen-from "$WORK/eig.h5" \
  --out "$WORK/q.h5" >"$WORK/q.log"
read -r ACC QUESTIONS SECS < <(/usr/bin/python3 -c "import h5py,sys; f=h5py.File(sys.argv[1]); \
a=f['/eval/analogy_standard'].attrs; print(round(a['overall_accuracy'], 4), a['overall_total'], \
round(f['/train'].attrs['train_seconds'], 1))" "$WORK/q.h5")
echo "Gutenberg, $TOKENS in-vocabulary tokens, $EPOCHS epoch(s)"
echo "| run | analogy accuracy (standard) | questions | training s |"
echo "|---|---|---|---|"
echo "| gensim Word2Vec sg, $NP workers | $(g accuracy) | $(g questions) | $(g seconds) |"
echo "| qwem-dist sgns --sampling windows, $NP ranks, $STEPS steps x $BATCH | $ACC | $QUESTIONS | $SECS |"
