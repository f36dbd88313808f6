#!/usr/bin/env bash
# Parallel efficiency of every phase from 1 to 2 ranks (issue 13 item 4): the closed form end to
# end on Gutenberg (by default V = 10k, L = 16, d = 200) at 1 and 2 ranks, REPS interleaved runs (default 3),
# medians per phase, and efficiency = T(1 rank) / (2 T(2 ranks)).
#
# Beside it, the machine's own ceiling: two independent 1-rank runs started together (nothing
# shared, no messages), ceiling = T(1 rank alone) / T(1 rank beside a twin). A phase whose
# efficiency is near its ceiling is bound by what two ranks get from this machine's cores and
# memory, not by the code's communication or redundant work. The reduce phase is also broken
# down into its steps (/timings attributes reduce_*_seconds_max, slowest rank).
# A second table gives each phase's CPU seconds summed over the ranks (/timings'
# cpu_user_seconds_sum and cpu_system_seconds_sum: each rank's own time up to its end of the
# phase; user includes MPI's polling inside the phase) and the CPU efficiency
# CPU(1 rank) / CPU(2 ranks): below 1 where 2 ranks do more work in all, or wait inside the phase.
# System time is the kernel's on the ranks' behalf, mostly page faults and the zeroing of fresh
# pages.
# With BASELINE (a git revision or a qwem-dist binary), its 1- and 2-rank runs are interleaved
# with this build's, and a second table gives the baseline's times and efficiency beside them.
# VOCAB and DIM (env) change the size: VOCAB=100000 DIM=300 is the closed form's large case.
# COUNTS_ONLY=1 (env) stops each run after the counts (--counts-only: read, vocabulary, count,
# reduce, write of the counts), for measuring those phases in a fraction of the time.
# Usage: bash share/bench/efficiency.sh [BUILD_DIR] [REPS] [BASELINE]
#        (env: VOCAB=10000, DIM=200, COUNTS_ONLY=)
set -euo pipefail
source "$(dirname "$0")/common.sh"
bench_start eff "${1:-}"
REPS=${2:-3}
VOCAB=${VOCAB:-10000}
DIM=${DIM:-200}
ONLY=()
[ -n "${COUNTS_ONLY:-}" ] && ONLY=(--counts-only)
echo "Gutenberg, V = $VOCAB, d = $DIM, $REPS interleaved reps${COUNTS_ONLY:+, counts only}"
BIN=$BUILD/qwem-dist
BASE=
[ -n "${3:-}" ] && BASE=$(bench_binary "$3" base)
run() {  # run NP OUT [mpirun options]
  mpirun -n "$1" "${@:3}" "$BIN" --corpus "$WORK/corpus" --vocab-size "$VOCAB" --dim "$DIM" --progress-seconds 0 \
    "${ONLY[@]}" --out "$WORK/$2.h5" >"$WORK/$2.log"
}
for rep in $(seq "$REPS"); do
  run 1 "np1-$rep"
  run 2 "np2-$rep"
  if [ -n "$BASE" ]; then
    BIN=$BASE run 1 "base1-$rep"
    BIN=$BASE run 2 "base2-$rep"
  fi
  # Unbound: two separate mpirun would each pin their rank to core 0.
  run 1 "twinA-$rep" --bind-to none &
  run 1 "twinB-$rep" --bind-to none &
  wait
done
/usr/bin/python3 - "$WORK" "$REPS" "${3:-}" <<'PY'
import sys, statistics, h5py
work, reps, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def phases(name):
    """Wall seconds per phase (and the reduce's parts), and CPU (user, system) seconds per phase
    summed over the ranks, or {} for a file written before they were recorded."""
    f = h5py.File(f"{work}/{name}.h5", "r")
    names = [p.decode() for p in f["/timings/phase"][:]]
    t = dict(zip(names, f["/timings/seconds"][:]))
    t["total"] = sum(t.values())
    for key, value in f["/timings"].attrs.items():
        if key.startswith("reduce_") and key.endswith("_seconds_max") and key != "reduce_seconds_max":
            t["reduce: " + key[len("reduce_"):-len("_seconds_max")]] = float(value)
    cpu = {}
    if "cpu_user_seconds_sum" in f["/timings"]:
        user, system = f["/timings/cpu_user_seconds_sum"][:], f["/timings/cpu_system_seconds_sum"][:]
        cpu = {p: (u, s) for p, u, s in zip(names, user, system)}
        cpu["total"] = (sum(user), sum(system))
    return t, cpu
read = {kind: [phases(f"{kind}-{r}") for r in range(1, reps + 1)] for kind in ("np1", "np2")}
runs = {kind: [t for t, _ in v] for kind, v in read.items()}
runs["twin"] = [phases(f"twin{ab}-{r}")[0] for r in range(1, reps + 1) for ab in "AB"]
names = [p for p in runs["np1"][0] if p != "discover"]
print(f"| phase | 1 rank s | 2 ranks s | efficiency | 1 rank beside a twin s | machine ceiling |")
print("|---|---|---|---|---|---|")
for p in names:
    t = {k: statistics.median(r[p] for r in v) for k, v in runs.items()}
    eff = t["np1"] / (2 * t["np2"]) if t["np2"] > 0 else float("nan")
    ceil = t["np1"] / t["twin"] if t["twin"] > 0 else float("nan")
    print(f"| {p} | {t['np1']:.3f} | {t['np2']:.3f} | {eff:.2f} | {t['twin']:.3f} | {ceil:.2f} |")
cpus = {kind: [c for _, c in v] for kind, v in read.items()}
if all(cpus["np1"]) and all(cpus["np2"]):
    print("\nCPU seconds summed over the ranks (user + system), medians:")
    print("| phase | 1 rank user | 1 rank system | 2 ranks user | 2 ranks system | CPU efficiency |")
    print("|---|---|---|---|---|---|")
    for p in [p for p in cpus["np1"][0] if p != "discover"]:
        m = {k: [statistics.median(r[p][i] for r in v) for i in (0, 1)] for k, v in cpus.items()}
        total1, total2 = sum(m["np1"]), sum(m["np2"])
        eff = total1 / total2 if total2 > 0 else float("nan")
        print(f"| {p} | {m['np1'][0]:.3f} | {m['np1'][1]:.3f} | {m['np2'][0]:.3f} | {m['np2'][1]:.3f} | {eff:.2f} |")
if base:
    runs = {"np1": runs["np1"], "np2": runs["np2"],
            **{kind: [phases(f"{kind}-{r}")[0] for r in range(1, reps + 1)] for kind in ("base1", "base2")}}
    print(f"\nBaseline {base}, interleaved with the runs above:")
    print("| phase | baseline 1 rank s | baseline 2 ranks s | baseline efficiency | this build 2 ranks / baseline |")
    print("|---|---|---|---|---|")
    for p in names:
        if any(p not in r for v in runs.values() for r in v):
            print(f"| {p} | (not in both) | | | |")
            continue
        t = {k: statistics.median(r[p] for r in v) for k, v in runs.items()}
        eff = t["base1"] / (2 * t["base2"]) if t["base2"] > 0 else float("nan")
        ratio = t["np2"] / t["base2"] if t["base2"] > 0 else float("nan")
        print(f"| {p} | {t['base1']:.3f} | {t['base2']:.3f} | {eff:.2f} | {ratio:.2f} |")
PY
