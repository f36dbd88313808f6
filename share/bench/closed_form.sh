#!/usr/bin/env bash
# Benchmark of the closed form (issue 3), side by side in one run on the same corpus and cores:
#   1. qwem-dist end to end on 2 ranks (Gutenberg, V = 10k, L = 16, d = 200), phases broken out;
#   2. a dense reference: scipy.linalg.eigh (OpenBLAS, top 200 eigenpairs) of the same M*, built
#      in numpy from qwem-dist's saved counts;
#   3. gensim Word2Vec (skip-gram, 200 d, window 10, 5 negatives, sample 1e-4, 5 epochs,
#      2 workers) on the vocabulary-filtered corpus in lines of 1,000 words (SCIENCE.md s. 7).
# Accuracy: the standard analogy protocol with gensim's evaluate_word_analogies for all three
# (it gives the same counts as qwem-dist's evaluator: tests/gensim_check.sh).
# Then V = 50k and V = 100k through qwem-dist: time and peak memory per rank.
# Usage: bash share/bench/closed_form.sh [BUILD_DIR]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start bench3 "${1:-}"

run_qwem() {  # V NAME [extra options]
  local V=$1 name=$2
  shift 2
  /usr/bin/time -f "%e s wall, %M KiB max RSS (one rank)" -o "$WORK/$name.time" \
    mpirun -n 2 "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size "$V" --window 16 --dim 200 \
    --out "$WORK/$name.h5" "$@" >"$WORK/$name.log"
}
run_qwem 10000 q10k --save-cooccurrence --export-w2v "$WORK/q10k.txt" --similarity none
run_qwem 50000 q50k --analogies none --similarity none --concepts 0
run_qwem 100000 q100k --analogies none --similarity none --concepts 0

# The dense reference and gensim use both cores (OpenBLAS threads, gensim workers).
OPENBLAS_NUM_THREADS=2 /usr/bin/python3 - "$WORK" "$DATA/questions-words.txt" <<'PY'
import sys, time, resource, logging, h5py, numpy as np, scipy.linalg
from gensim.models import KeyedVectors, Word2Vec
work, questions = sys.argv[1], sys.argv[2]

def analogy(kv, n):
    score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=n, case_insensitive=True)
    t = [s for s in sections if s["section"] == "Total accuracy"][0]
    return len(t["correct"]), len(t["correct"]) + len(t["incorrect"])

def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

f = h5py.File(f"{work}/q10k.h5", "r")
words = [w.decode() for w in f["/vocab/words"][:]]
V, d, L = len(words), 200, 16
phase = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
qwem_total = sum(phase.values())
qwem_rss = max(f["/timings/peak_rss_bytes_max"][:]) / 2**30
qwem_acc = analogy(KeyedVectors.load_word2vec_format(f"{work}/q10k.txt"), V)
ours = f["/eval/analogy_standard"].attrs
assert qwem_acc == (int(ours["overall_correct"]), int(ours["overall_total"])), (qwem_acc, ours["overall_correct"])

# Dense reference: M* from the saved counts, by SCIENCE.md section 2, then scipy eigh.
t0 = time.time()
ip, ix, data = f["/cooccurrence/indptr"][:], f["/cooccurrence/indices"][:], f["/cooccurrence/data"][:]
n_pairs = f["/corpus"].attrs["n_pairs"]
counts = f["/vocab/counts"][:].astype(float)
P = np.zeros((V, V))
P[np.repeat(np.arange(V), np.diff(ip)), ix] = data / (n_pairs * (L + 1) / 2)
pi = counts / counts.sum()
Q = np.outer(pi, pi)
M = np.where(P > 0, 2 * (P - Q) / (P + Q), -2.0)
del P, Q
t_build = time.time() - t0
t0 = time.time()
lam, vec = scipy.linalg.eigh(M, subset_by_index=[V - d, V - 1])
t_eigh = time.time() - t0
lam, vec = lam[::-1], vec[:, ::-1]
ref_lam_err = np.max(np.abs(lam - f["/spectrum/eigenvalues"][:]) / np.abs(lam))
W = vec * np.sqrt(np.maximum(lam, 0))
kv = KeyedVectors(d)
kv.add_vectors(words, W)
dense_acc = analogy(kv, V)
dense_rss = peak_gib()
del M, vec

# gensim Word2Vec on the vocabulary-filtered corpus, lines of at most 1,000 words.
vocab = set(words)
toks = [w for w in open(f"{work}/corpus/gutenberg.txt").read().split() if w in vocab]
lines = [toks[i:i + 1000] for i in range(0, len(toks), 1000)]
t0 = time.time()
model = Word2Vec(lines, vector_size=200, sg=1, window=10, negative=5, sample=1e-4, epochs=5, workers=2,
                 min_count=1, max_vocab_size=None, seed=1)
t_w2v = time.time() - t0
w2v_acc = analogy(model.wv, V)
w2v_rss = peak_gib()

pct = lambda a: f"{100 * a[0] / a[1]:.1f}% of {a[1]}"
print("\n| method | wall s | peak memory | standard analogy |")
print("|---|---|---|---|")
print(f"| qwem-dist, 2 ranks, end to end | {qwem_total:.1f} | {qwem_rss:.2f} GiB/rank | {pct(qwem_acc)} |")
print(f"| dense reference: numpy M* ({t_build:.1f} s) + scipy eigh top 200 | {t_build + t_eigh:.1f} | {dense_rss:.2f} GiB (process) | {pct(dense_acc)} |")
print(f"| gensim Word2Vec, skip-gram, 5 epochs, 2 workers | {t_w2v:.1f} | {w2v_rss:.2f} GiB (process, cumulative peak) | {pct(w2v_acc)} |")
print("\nqwem-dist phases (s): " + ", ".join(f"{k} {v:.2f}" for k, v in phase.items()))
print(f"eigensolver share of qwem-dist: {100 * phase['eigensolve'] / qwem_total:.0f}%; "
      f"max relative eigenvalue difference to the dense reference: {ref_lam_err:.1e}")
for name in ["q50k", "q100k"]:
    g = h5py.File(f"{work}/{name}.h5", "r")
    ph = dict(zip([p.decode() for p in g["/timings/phase"][:]], g["/timings/seconds"][:]))
    print(f"{name}: V = {len(g['/vocab/words'])}, total {sum(ph.values()):.1f} s (count {ph['count']:.1f}, eigensolve "
          f"{ph['eigensolve']:.1f}), peak RSS {max(g['/timings/peak_rss_bytes_max'][:]) / 2**30:.2f} GiB/rank, "
          f"{g['/spectrum'].attrs['n_matvecs']} products")
PY
