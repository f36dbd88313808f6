#!/usr/bin/env bash
# Cross-check with gensim (Debian's python3-gensim): the --export-w2v files (text and binary)
# load unchanged with KeyedVectors.load_word2vec_format, hold the same vectors as /embeddings,
# and gensim's evaluate_word_analogies gives the same standard-protocol accuracy as /eval.
# Usage: gensim_check.sh QWEM_DIST NP SHARE_DIR
set -euo pipefail
BIN=$1; NP=$2; SHARE=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/qwem-gensim-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mpirun -q -n "$NP" "$BIN" --corpus "$SHARE/corpus" --vocab-size 3000 --dim 40 --out "$WORK/e.h5" \
  --export-w2v "$WORK/e.txt" >"$WORK/log.txt"
mpirun -q -n "$NP" "$BIN" --corpus "$SHARE/corpus" --vocab-size 3000 --dim 40 --out "$WORK/e2.h5" \
  --export-w2v "$WORK/e.bin" --analogies none --similarity none >>"$WORK/log.txt"
/usr/bin/python3 - "$WORK" "$SHARE/questions-words.txt" <<'PY'
import sys, logging, numpy as np, h5py
from gensim.models import KeyedVectors
work, questions = sys.argv[1], sys.argv[2]
f = h5py.File(f"{work}/e.h5", "r")
W = f["/embeddings"][:]
words = [w.decode() for w in f["/vocab/words"][:]]
for name, binary in [("e.txt", False), ("e.bin", True)]:
    kv = KeyedVectors.load_word2vec_format(f"{work}/{name}", binary=binary)
    assert kv.index_to_key == words, name
    err = np.abs(kv.vectors - W).max()
    assert err < 1e-6 * max(1.0, np.abs(W).max()), (name, err)
kv = KeyedVectors.load_word2vec_format(f"{work}/e.txt")
score, sections = kv.evaluate_word_analogies(questions, restrict_vocab=len(words), case_insensitive=True)
total = [s for s in sections if s["section"] == "Total accuracy"][0]
ours = f["/eval/analogy_standard"].attrs
got = (int(ours["overall_correct"]), int(ours["overall_total"]))
want = (len(total["correct"]), len(total["correct"]) + len(total["incorrect"]))
print(f"qwem-dist {got[0]}/{got[1]}, gensim {want[0]}/{want[1]}")
assert got == want, (got, want)
PY
echo "1 passed, 0 failed"
