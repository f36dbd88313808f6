#!/bin/bash
# qwem-dist pipeline: the closed form first (M*'s eigenpairs), then the SGD dynamics run that
# reads those eigenpairs for its theory curves and subspace overlaps (--eigen-from), chained with
# --dependency=afterok so the second job starts only if the first one COMPLETED.
#
# Run it on the login node, from the qwem-dist checkout (it calls sbatch twice and returns):
#   jobs/pipeline.sh                                  # bundled corpus, into ./qwem-pipeline/
#   QWEM_SBATCH_ARGS="--nodes=4" jobs/pipeline.sh /data/wiki/ /scratch/me/wiki-run
# Arguments: [CORPUS [OUTDIR]]. Variables (all optional):
#   QWEM_COMMON_ARGS  qwem-dist options both jobs must share: the vocabulary and window define M*
#                     and must match (default: --vocab-size 400 --window 16)
#   QWEM_CLOSED_ARGS  options of the closed-form job only (default: --dim 10). The SGD job's coupled
#                     theory wants max(2d, d + 50) eigenpairs (--theory-modes): with fewer it warns and
#                     its last modes' curves come out too low; --dim 60 here gives them all (and makes
#                     the closed form's embeddings 60-dimensional)
#   QWEM_SGD_ARGS     options of the SGD job only (its defaults are in jobs/sgd.sbatch)
#   QWEM_SBATCH_ARGS  sbatch options for both jobs (nodes, tasks, time, partition, account)
# Prints the two job ids; the last line is "jobs: CLOSED_ID SGD_ID".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CORPUS=${1:-${QWEM_CORPUS:-$here/../share/corpus}}
OUTDIR=${2:-${QWEM_OUTDIR:-$PWD/qwem-pipeline}}
COMMON=${QWEM_COMMON_ARGS:---vocab-size 400 --window 16}
CLOSED=${QWEM_CLOSED_ARGS:---dim 10}
SGD=${QWEM_SGD_ARGS:-}
mkdir -p "$OUTDIR"
CORPUS=$(cd "$(dirname "$CORPUS")" && pwd)/$(basename "$CORPUS")  # absolute: jobs may run elsewhere
OUTDIR=$(cd "$OUTDIR" && pwd)

# shellcheck disable=SC2086  # the *_ARGS variables are option lists
closed=$(sbatch --parsable ${QWEM_SBATCH_ARGS:-} "$here/closed_form.sbatch" "$CORPUS" "$OUTDIR/closed.h5" $COMMON $CLOSED)
closed=${closed%%;*}  # --parsable prints "id" or "id;cluster"
echo "submitted closed form: job $closed -> $OUTDIR/closed.h5"
# shellcheck disable=SC2086
sgd=$(sbatch --parsable --dependency=afterok:"$closed" ${QWEM_SBATCH_ARGS:-} "$here/sgd.sbatch" "$CORPUS" \
      "$OUTDIR/sgd.h5" --eigen-from "$OUTDIR/closed.h5" $COMMON $SGD)
sgd=${sgd%%;*}
echo "submitted SGD dynamics: job $sgd (after job $closed completes) -> $OUTDIR/sgd.h5"
echo "jobs: $closed $sgd"
