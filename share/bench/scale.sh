#!/usr/bin/env bash
# Scale (issue 13 item 5): a corpus of about 1B tokens built from ../shared/data by
# share/bench/make_corpus.py (the Gutenberg books and the text8 prefix as documents, 47 copies,
# the documents shuffled anew in each copy: repetition, not new text), end to end on 2 ranks at
# V = 10k, d = 200 and V = 100k, d = 300: time per phase and peak memory per rank (one run each:
# they take minutes). The corpus (5.3 GB) goes to CORPUS_DIR, kept for reuse if it exists.
# Usage: bash share/bench/scale.sh [BUILD_DIR] [CORPUS_DIR] [TOKENS]
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start scale "${1:-}"
BIG=${2:-/tmp/qwem-1b-corpus}
TOKENS=${3:-1e9}
if [ ! -d "$BIG" ]; then
  /usr/bin/python3 share/bench/make_corpus.py "$DATA" "$BIG" --tokens "$TOKENS"
fi
echo "corpus: $BIG, $(du -sh "$BIG" | cut -f1), $(ls "$BIG" | wc -l) files"
for cfg in "10000 200" "100000 300"; do
  set -- $cfg
  /usr/bin/time -f "%e s wall, %M KiB max RSS (one rank)" -o "$WORK/v$1.time" \
    mpirun -n 2 "$BUILD/qwem-dist" --corpus "$BIG" --vocab-size "$1" --dim "$2" --progress-seconds 30 \
    --out "$WORK/v$1.h5" >"$WORK/v$1.log"
done
/usr/bin/python3 - "$WORK" <<'PY'
import sys, h5py
work = sys.argv[1]
print("| V, d | tokens | nnz | " + " | ".join(["read", "vocabulary", "count", "reduce", "target", "eigensolve",
                                                "evaluate", "write"]) + " | total s | peak RSS GiB/rank |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for V, d in [(10000, 200), (100000, 300)]:
    f = h5py.File(f"{work}/v{V}.h5", "r")
    ph = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
    rss = max(f["/timings/peak_rss_bytes_max"][:]) / 2**30
    c = f["/corpus"].attrs
    cells = " | ".join(f"{ph.get(p, 0):.1f}" for p in ["read", "vocabulary", "count", "reduce", "target", "eigensolve",
                                                     "evaluate", "write"])
    print(f"| {V}, {d} | {c['n_total_tokens'] / 1e9:.3f}B | {c['nnz'] / 1e6:.1f}M | {cells} | {sum(ph.values()):.1f} | {rss:.2f} |")
PY
grep -h "eigensolve time\|count rate\|count + reduce\|read rate" "$WORK"/v*.log
