#!/usr/bin/env bash
# The write phase against this machine's file system (issue 13 item 4): the seconds qwem-dist's
# own writer (h5io.hpp) takes for two V x d matrices of doubles (default V = 100k, d = 300, the
# 480 MB a closed-form run at that size writes), on 1 and 2 ranks, into one file shared by the
# ranks (what qwem-dist writes) and into one file per rank (share/bench/write_file.cpp).
# REPS interleaved runs, medians; efficiency = T(1 rank) / (2 T(2 ranks)), as in efficiency.sh.
# Each run waits PAUSE seconds first (default 5), so that it starts, as qwem-dist's write does,
# long after the last file was removed: on this VM the pages of a file removed a moment ago are
# handed to the next write at once, and written several times faster than older free memory.
# Usage: bash share/bench/write_file.sh [BUILD_DIR] [REPS]   (env: VOCAB=100000, DIM=300, PAUSE=5)
set -euo pipefail
source "$(dirname "$0")/common.sh"  # median
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
REPS=${2:-5}
VOCAB=${VOCAB:-100000}
DIM=${DIM:-300}
PAUSE=${PAUSE:-5}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cmake --build "$BUILD" --target qwem_write_file_bench -j2 >/dev/null
BIN="$BUILD/qwem_write_file_bench"
WORK=$(mktemp -d "/tmp/qwem-write-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MB=$(awk -v v="$VOCAB" -v d="$DIM" 'BEGIN {printf "%.0f", 2 * v * d * 8 / 1e6}')
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD);" \
     "file system of $WORK: $(df -T "$WORK" | awk 'NR == 2 {print $2}')"
echo "two $VOCAB x $DIM matrices of doubles ($MB MB), median of $REPS interleaved runs, $PAUSE s apart"
declare -A T
for rep in $(seq "$REPS"); do
  for mode in shared per-rank; do
    for np in 1 2; do
      sleep "$PAUSE"
      T[$mode,$np]+="$(mpirun -n "$np" "$BIN" "$VOCAB" "$DIM" "$mode" "$WORK") "
    done
  done
done
printf '| %-26s | %9s | %9s | %10s | %10s | %10s |\n' "files" "1 rank s" "2 ranks s" "1 rank MB/s" "2 ranks MB/s" "efficiency"
printf '|%s|%s|%s|%s|%s|%s|\n' "----------------------------" "-----------" "-----------" "------------" "------------" "------------"
for mode in shared per-rank; do
  t1=$(echo "${T[$mode,1]}" | tr ' ' '\n' | median) t2=$(echo "${T[$mode,2]}" | tr ' ' '\n' | median)
  label=$([ "$mode" = shared ] && echo "one file (qwem-dist)" || echo "one file per rank")
  printf '| %-26s | %9.3f | %9.3f | %10.0f | %10.0f | %10.2f |\n' "$label" "$t1" "$t2" \
    "$(awk -v m="$MB" -v t="$t1" 'BEGIN {print m / t}')" "$(awk -v m="$MB" -v t="$t2" 'BEGIN {print m / t}')" \
    "$(awk -v a="$t1" -v b="$t2" 'BEGIN {print a / (2 * b)}')"
done
