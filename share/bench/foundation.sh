#!/usr/bin/env bash
# Benchmark of the foundation stage (issue 2): reading, vocabulary and exact co-occurrence
# counting on the Gutenberg corpus (../shared/data/gutenberg.txt.xz, 19.0M words).
# Runs every configuration REPS times, interleaved (1 rank, 2 ranks, V = 100k, then again),
# and prints one markdown table of medians. Usage:
#   bash share/bench/foundation.sh [BUILD_DIR] [REPS]      (defaults: build 3)
set -euo pipefail
REPS=${2:-3}
source "$(dirname "$0")/common.sh"
bench_start bench "${1:-}"

configs=("1 10000" "2 10000" "2 100000")
for rep in $(seq "$REPS"); do
  for c in "${configs[@]}"; do
    set -- $c
    out="$WORK/np$1-V$2-rep$rep.h5"
    mpirun -n "$1" "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size "$2" --window 16 --counts-only \
      --save-cooccurrence --out "$out" >"$out.log"
  done
done

/usr/bin/python3 - "$WORK" "$REPS" <<'PY'
import sys, glob, statistics as st, h5py
work, reps = sys.argv[1], int(sys.argv[2])
rows = []
for np_, V in [(1, 10000), (2, 10000), (2, 100000)]:
    runs = []
    for rep in range(1, reps + 1):
        f = h5py.File(f"{work}/np{np_}-V{V}-rep{rep}.h5", "r")
        t = dict(zip([p.decode() for p in f["/timings/phase"][:]], f["/timings/seconds"][:]))
        rss = max(f["/timings/peak_rss_bytes_max"][:]) / 2**30
        a = f["/timings"].attrs
        invocab = f["/corpus"].attrs["n_in_vocab_tokens"]
        t["read"] += t.get("discover", 0.0)  # discovering the files is part of reading
        runs.append(dict(t, rss=rss, loop=a["count_pair_loop_seconds_max"], invocab=invocab, total=sum(t.values())))
    med = lambda k: st.median(r[k] for r in runs)
    per_rank = runs[0]["invocab"] / np_
    both = st.median(r["count"] + r["reduce"] for r in runs)
    rows.append((np_, V, med("read") + med("vocabulary"), med("read"), med("vocabulary"), med("count"), med("loop"),
                 per_rank / med("count") / 1e6, per_rank / med("loop") / 1e6, med("reduce"), per_rank / both / 1e6,
                 med("write"), med("total"), med("rss")))
print(f"\nmedians of {reps} runs, Gutenberg 19.0M words, L = 16\n")
print("| ranks | V | read+vocab s | read s | vocab s | count s | pair loop s | count M tok/s/rank | pair loop M tok/s/rank | reduce s | count+reduce M tok/s/rank | write s | total s | peak RSS GiB/rank |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print("| %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % r)
PY
