# Shared start of the benchmark scripts in share/bench/ (sourced). bench_start TAG [BUILD_DIR]:
# moves to the checkout, sets BUILD (default build) and DATA (../shared/data, or
# $QWEM_SHARED/data), makes WORK (removed at exit, with any worktree bench_binary made), sets one
# BLAS thread per rank and Open MPI's root/oversubscribe switches, unpacks the Gutenberg corpus
# into $WORK/corpus, and prints the machine line that heads every table.
bench_start() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  BUILD=${2:-build}
  DATA=${QWEM_SHARED:-../shared}/data
  WORK=$(mktemp -d "/tmp/qwem-$1-XXXXXX")
  trap bench_cleanup EXIT
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  export OPENBLAS_NUM_THREADS=1  # qwem-dist: one thread per rank
  mkdir -p "$WORK/corpus"
  xz -dc "$DATA/gutenberg.txt.xz" >"$WORK/corpus/gutenberg.txt"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ);" \
       "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
}

bench_cleanup() {
  for tree in "$WORK"/tree-*; do [ -d "$tree" ] && git worktree remove --force "$tree"; done
  rm -rf "$WORK"
}

# bench_binary REV-OR-PATH NAME: prints the path of a qwem-dist binary: the given one, or one
# built from a git revision of this checkout in a worktree under $WORK (removed at exit).
bench_binary() {
  if [ -x "$1" ] && [ ! -d "$1" ]; then echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; return; fi
  local tree="$WORK/tree-$2"
  git worktree add --detach "$tree" "$1" >/dev/null 2>&1 || { echo "cannot check out '$1'" >&2; return 1; }
  cmake -S "$tree" -B "$tree/build" -DCMAKE_BUILD_TYPE=Release -DQWEM_BUILD_TESTS=OFF >/dev/null &&
    cmake --build "$tree/build" -j2 --target qwem-dist >/dev/null || { echo "cannot build '$1'" >&2; return 1; }
  echo "$tree/build/qwem-dist"
}

# bench_save_counts V: the Gutenberg counts at V words, saved once as $WORK/counts.h5 (2 ranks).
bench_save_counts() {
  mpirun -n 2 "$BUILD/qwem-dist" --corpus "$WORK/corpus" --vocab-size "$1" --dim 10 --counts-only \
    --save-cooccurrence --out "$WORK/counts.h5" >/dev/null
}

# bench_from_counts NAME [options]: qwem-dist on 2 ranks from $WORK/counts.h5, no similarity or
# concepts, writing $WORK/NAME.h5 and the log $WORK/NAME.log.
bench_from_counts() {
  local name=$1
  shift
  mpirun -n 2 "$BUILD/qwem-dist" --counts-from "$WORK/counts.h5" --similarity none --concepts 0 \
    --progress-seconds 0 --out "$WORK/$name.h5" "$@" >"$WORK/$name.log"
}

# median: the median of the numbers on stdin (one per line, blank lines skipped), printed in
# fixed point so that both printf and bc read it (awk's default %.6g would print 2.42114e+06).
median() {
  awk 'NF' | sort -g | awk '{a[NR] = $1} END {printf "%.6f\n", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# kernel_bench BUILD_DIR: builds qwem_pair_kernel_bench there (pair_kernel.sh, shared_kernel.sh)
# and prints its path.
kernel_bench() {
  cmake --build "$1" --target qwem_pair_kernel_bench -j2 >/dev/null && echo "$1/qwem_pair_kernel_bench"
}
