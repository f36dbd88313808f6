#!/usr/bin/env bash
# The pair kernels alone with shared negatives (issue 14): pair updates/s on one core of the pair
# kernel (PairGradients, per-pair negatives) and the shared-negatives kernel (SharedGradients,
# --negative-pairing shared, groups of at most 16 positives of one word), in double and single
# precision, each batch followed by its step (Descend with eta = 0: the shared kernel clears its
# rows there). d = 200, batches of 50,000 positives (the paper's) with K = 1 (QWEM's) or 5
# (SGNS's) negatives over a Zipf vocabulary (share/bench/pair_kernel.cpp); REPEATS interleaved runs
# of 30 batches each, medians. Training adds the sampling (share/bench/pairs.sh).
# Usage: bash share/bench/shared_kernel.sh [BUILD_DIR]   (env: REPEATS=5)
set -euo pipefail
source "$(dirname "$0")/common.sh"  # median, kernel_bench
cd "$(dirname "$0")/../.."
REPEATS=${REPEATS:-5}
BIN=$(kernel_bench "${1:-build}")
KERNELS=(double single shared-double shared-single)
echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ); commit $(git rev-parse --short HEAD)"
echo "pair kernels alone with their step, d = 200, batch 50000, 30 batches per run, median of $REPEATS; pair updates/s"
printf '| %-7s | %-2s | %12s | %12s | %14s | %14s | %19s | %19s |\n' "V" "K" "${KERNELS[@]}" "shared/pair, double" \
  "shared/pair, single"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "---------" "----" "--------------" "--------------" "----------------" \
  "----------------" "---------------------" "---------------------"
for V in 10000 100000; do
  for K in 1 5; do
    declare -A runs=()
    for r in $(seq "$REPEATS"); do
      for k in "${KERNELS[@]}"; do runs[$k]+="$("$BIN" "$V" 200 50000 "$K" 30 "$k" step 2>/dev/null)"$'\n'; done
    done
    declare -A m=()
    for k in "${KERNELS[@]}"; do m[$k]=$(printf '%s' "${runs[$k]}" | median); done
    printf '| %-7s | %-2s | %12.0f | %12.0f | %14.0f | %14.0f | %18.2fx | %18.2fx |\n' "$V" "$K" "${m[double]}" \
      "${m[single]}" "${m[shared-double]}" "${m[shared-single]}" \
      "$(awk -v a="${m[shared-double]}" -v b="${m[double]}" 'BEGIN {print a / b}')" \
      "$(awk -v a="${m[shared-single]}" -v b="${m[single]}" 'BEGIN {print a / b}')"
  done
done
