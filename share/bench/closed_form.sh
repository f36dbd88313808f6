#!/usr/bin/env bash
# Benchmark of the closed form (issues 3 and 13), side by side in one run on the same corpus and
# cores, REPS interleaved repetitions (default 3), medians reported:
#   1. qwem-dist end to end on 2 ranks (Gutenberg, V = 10k, L = 16, d = 200), phases broken out,
#      with its default block eigensolver, and with --eigensolver slepc (Krylov-Schur, the
#      former default) at the same tolerance;
#   2. qwem-dist at V = 100k, d = 300, end to end: time and peak memory per rank;
#   3. a dense reference: scipy.linalg.eigh (OpenBLAS, top 200 eigenpairs) of the same M*, built
#      in numpy from qwem-dist's saved counts;
#   4. gensim Word2Vec (skip-gram, 200 d, window 10, 5 negatives, sample 1e-4, 5 epochs,
#      2 workers) on the vocabulary-filtered corpus in lines of 1,000 words (SCIENCE.md s. 7).
# Accuracy: the standard analogy protocol with gensim's evaluate_word_analogies for all of them
# (it gives the same counts as qwem-dist's evaluator: tests/gensim_check.sh), and whether the
# block solver's answers equal SLEPc's question by question.
# Usage: bash share/bench/closed_form.sh [BUILD_DIR] [REPS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start bench3 "${1:-}"
REPS=${2:-3}

run_qwem() {  # V D NAME [extra options]
  local V=$1 d=$2 name=$3
  shift 3
  mpirun -n 2 "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size "$V" --window 16 --dim "$d" \
    --progress-seconds 0 --out "$WORK/$name.h5" "$@" >"$WORK/$name.log"
}
for rep in $(seq "$REPS"); do
  extra=()
  [ "$rep" = 1 ] && extra=(--save-cooccurrence --export-w2v "$WORK/q10k-1.txt")
  run_qwem 10000 200 "q10k-$rep" "${extra[@]}"
  run_qwem 10000 200 "slepc-$rep" --eigensolver slepc --export-w2v "$WORK/slepc-$rep.txt"
  run_qwem 100000 300 "q100k-$rep"
done

# The dense reference and gensim use both cores (OpenBLAS threads, gensim workers).
OPENBLAS_NUM_THREADS=2 /usr/bin/python3 - "$WORK" "$DATA/questions-words.txt" "$REPS" <<'PY'
import sys, time, resource, statistics, h5py, numpy as np, scipy.linalg
from gensim.models import KeyedVectors, Word2Vec
work, questions, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])

def analogy(kv, n):
    score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=n, case_insensitive=True)
    t = [s for s in sections if s["section"] == "Total accuracy"][0]
    return len(t["correct"]), len(t["correct"]) + len(t["incorrect"])

def answers(kv, n):
    score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=n, case_insensitive=True)
    t = [s for s in sections if s["section"] == "Total accuracy"][0]
    return set(t["correct"])

def peak_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

def phases(name):
    f = h5py.File(f"{work}/{name}.h5", "r")
    ph = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
    return ph, max(f["/timings/peak_rss_bytes_max"][:]) / 2**30, f

med = statistics.median
runs = {k: [phases(f"{k}-{r}") for r in range(1, reps + 1)] for k in ["q10k", "slepc", "q100k"]}
total = {k: med(sum(ph.values()) for ph, _, _ in v) for k, v in runs.items()}
eig = {k: med(ph["eigensolve"] for ph, _, _ in v) for k, v in runs.items()}
rss = {k: max(r for _, r, _ in v) for k, v in runs.items()}
f10 = runs["q10k"][0][2]
words = [w.decode() for w in f10["/vocab/words"][:]]
V, d, L = len(words), 200, 16
kv_block = KeyedVectors.load_word2vec_format(f"{work}/q10k-1.txt")
kv_slepc = KeyedVectors.load_word2vec_format(f"{work}/slepc-1.txt")
qwem_acc, slepc_acc = analogy(kv_block, V), analogy(kv_slepc, V)
ours = f10["/eval/analogy_standard"].attrs
assert qwem_acc == (int(ours["overall_correct"]), int(ours["overall_total"])), (qwem_acc, ours["overall_correct"])
same_answers = answers(kv_block, V) == answers(kv_slepc, V)

# Dense reference: M* from the saved counts, by SCIENCE.md section 2, then scipy eigh.
ip, ix, data = f10["/cooccurrence/indptr"][:], f10["/cooccurrence/indices"][:], f10["/cooccurrence/data"][:]
n_pairs = f10["/corpus"].attrs["n_pairs"]
counts = f10["/vocab/counts"][:].astype(float)
dense_times = []
for rep in range(reps):
    t0 = time.time()
    P = np.zeros((V, V))
    P[np.repeat(np.arange(V), np.diff(ip)), ix] = data / (n_pairs * (L + 1) / 2)
    pi = counts / counts.sum()
    Q = np.outer(pi, pi)
    M = np.where(P > 0, 2 * (P - Q) / (P + Q), -2.0)
    del P, Q
    lam, vec = scipy.linalg.eigh(M, subset_by_index=[V - d, V - 1])
    dense_times.append(time.time() - t0)
    del M
lam, vec = lam[::-1], vec[:, ::-1]
ref_lam_err = np.max(np.abs(lam - f10["/spectrum/eigenvalues"][:]) / np.abs(lam))
W = vec * np.sqrt(np.maximum(lam, 0))
kv = KeyedVectors(d)
kv.add_vectors(words, W)
dense_acc = analogy(kv, V)
dense_rss = peak_gib()
del vec, W

# gensim Word2Vec on the vocabulary-filtered corpus, lines of at most 1,000 words.
vocab = set(words)
toks = [w for w in open(f"{work}/corpus/gutenberg.txt").read().split() if w in vocab]
lines = [toks[i:i + 1000] for i in range(0, len(toks), 1000)]
w2v_times = []
for rep in range(reps):
    t0 = time.time()
    model = Word2Vec(lines, vector_size=200, sg=1, window=10, negative=5, sample=1e-4, epochs=5, workers=2,
                     min_count=1, max_vocab_size=None, seed=1 + rep)
    w2v_times.append(time.time() - t0)
w2v_acc = analogy(model.wv, V)
w2v_rss = peak_gib()

pct = lambda a: f"{100 * a[0] / a[1]:.1f}% of {a[1]}"
print(f"\nmedians of {reps}; V = 10k, d = 200 unless said")
print("\n| method | wall s | eigensolve s | peak memory | standard analogy |")
print("|---|---|---|---|---|")
print(f"| qwem-dist, block solver, 2 ranks, end to end | {total['q10k']:.1f} | {eig['q10k']:.2f} | {rss['q10k']:.2f} GiB/rank | {pct(qwem_acc)} |")
print(f"| qwem-dist, --eigensolver slepc, 2 ranks, end to end | {total['slepc']:.1f} | {eig['slepc']:.2f} | {rss['slepc']:.2f} GiB/rank | {pct(slepc_acc)} |")
print(f"| dense reference: numpy M* + scipy eigh top 200 (2 threads) | {med(dense_times):.1f} | | {dense_rss:.2f} GiB (process) | {pct(dense_acc)} |")
print(f"| gensim Word2Vec, skip-gram, 5 epochs, 2 workers | {med(w2v_times):.1f} | | {w2v_rss:.2f} GiB (process, cumulative peak) | {pct(w2v_acc)} |")
print(f"| qwem-dist, V = 100k, d = 300, 2 ranks, end to end | {total['q100k']:.1f} | {eig['q100k']:.2f} | {rss['q100k']:.2f} GiB/rank | |")
for k in ["q10k", "q100k"]:
    ph = {p: med(r[0][p] for r in runs[k]) for p in runs[k][0][0]}
    print(f"\n{k} phases (s, medians): " + ", ".join(f"{p} {v:.2f}" for p, v in ph.items()))
print(f"block solver's correct answers {'equal' if same_answers else 'DIFFER from'} SLEPc's, question by question; "
      f"max relative eigenvalue difference to the dense reference: {ref_lam_err:.1e}")
print(f"speed-up of the block solver over SLEPc's Krylov-Schur (eigensolve, medians): {eig['slepc'] / eig['q10k']:.1f}x")
PY
