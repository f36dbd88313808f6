#!/usr/bin/env bash
# The pair kernel alone (issue 14): pair updates/s of PairGradients::Compute on one core, in double
# and in single precision (--pair-precision), d = 200, batches of 16,384 positives with one
# negative each over a Zipf vocabulary (share/bench/pair_kernel.cpp), for V = 500 (W's rows stay
# in this core's cache) up to 100,000 (they come from memory); REPEATS interleaved runs of 200
# batches each, medians. This is the kernel's ceiling: training adds the sampling and the step.
# Usage: bash share/bench/pair_kernel.sh [BUILD_DIR]   (env: REPEATS=5)
set -euo pipefail
source "$(dirname "$0")/common.sh"  # median, kernel_bench
cd "$(dirname "$0")/../.."
REPEATS=${REPEATS:-5}
BIN=$(kernel_bench "${1:-build}")
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)"
echo "pair kernel alone, d = 200, batch 16384 + 1 negative each, 200 batches per run, median of $REPEATS"
printf '| %-8s | %14s | %14s | %13s |\n' "V" "double pairs/s" "single pairs/s" "single/double"
printf '|%s|%s|%s|%s|\n' "----------" "----------------" "----------------" "---------------"
for V in 500 2000 10000 100000; do
  dbl=() sgl=()
  for r in $(seq "$REPEATS"); do
    dbl+=("$("$BIN" "$V" 200 16384 1 200 double 2>/dev/null)")
    sgl+=("$("$BIN" "$V" 200 16384 1 200 single 2>/dev/null)")
  done
  d=$(printf '%s\n' "${dbl[@]}" | median) s=$(printf '%s\n' "${sgl[@]}" | median)
  printf '| %-8s | %14.0f | %14.0f | %12.2fx |\n' "$V" "$d" "$s" "$(awk -v s="$s" -v d="$d" 'BEGIN {print s / d}')"
done
