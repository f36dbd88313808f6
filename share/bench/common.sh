# Shared start of the benchmark scripts in share/bench/ (sourced). bench_start TAG [BUILD_DIR]:
# moves to the checkout, sets BUILD (default build) and DATA (../shared/data, or
# $QWEM_SHARED/data), makes WORK (removed at exit), sets one BLAS thread per rank and Open MPI's
# root/oversubscribe switches, unpacks the Gutenberg corpus into $WORK/corpus, and prints the
# machine line that heads every table.
bench_start() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.."
  BUILD=${2:-build}
  DATA=${QWEM_SHARED:-../shared}/data
  WORK=$(mktemp -d "/tmp/qwem-$1-XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  export OPENBLAS_NUM_THREADS=1  # qwem-dist: one thread per rank
  mkdir -p "$WORK/corpus"
  xz -dc "$DATA/gutenberg.txt.xz" >"$WORK/corpus/gutenberg.txt"
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%dT%H:%MZ);" \
       "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
}
