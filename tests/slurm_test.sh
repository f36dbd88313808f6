#!/usr/bin/env bash
# The batch scripts of jobs/ on a real SLURM: a private one-node cluster (tests/slurm_cluster.sh)
# runs them on the bundled corpus, as a user would submit them:
#  * jobs/closed_form.sbatch (srun --mpi=pmix): COMPLETED; the HDF5 file has the spectrum,
#    embeddings and evaluation, and records the SLURM job id; the log's first lines give ranks,
#    nodes and versions, periodic lines have phase, rate and time, the last line the result;
#  * jobs/pipeline.sh: the SGD job waits for the closed form (afterok), reads its eigenpairs
#    (--eigen-from), and both end COMPLETED;
#  * jobs/sgd.sbatch (mpirun): the time-limit warning (SIGUSR1 to the batch shell, as
#    --signal=B:USR1 sends it) makes a checkpoint; the job requeues itself, resumes, ends
#    COMPLETED, and its W equals the uninterrupted pipeline run's bit for bit;
#  * jobs/paper.sbatch (srun): share/paper/reproduce.sh at its tiny preset on the allocation's
#    tasks ends COMPLETED with table.md's methods and ablation cells;
#  * failures: a bad corpus makes the job FAILED with the one-line error in its .err file, and
#    the completion check rejects it; a failed first pipeline stage never starts the second.
# The closed-form and failing jobs are submitted with sbatch --wait, whose status must be the
# job's; the others are polled with scontrol (no accounting, so no sacct).
# Needs root, slurm-wlm and munge. Without them it is skipped (status 77) unless
# QWEM_REQUIRE_SLURM=1 (CI), which makes a missing SLURM a failure.
# Usage: slurm_test.sh QWEM_DIST_BINARY SOURCE_DIR
set -u
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$(cd "$2" && pwd)
missing=""
[ "$(id -u)" -eq 0 ] || missing="root"
for tool in munged slurmctld slurmd sbatch scontrol; do command -v $tool >/dev/null || missing="$missing $tool"; done
if [ -n "$missing" ]; then
  echo "slurm_test: needs$missing (apt-get install slurm-wlm munge; run as root)"
  [ "${QWEM_REQUIRE_SLURM:-0}" = 1 ] && exit 1
  exit 77
fi

WORK=$(mktemp -d /tmp/qwem-slurm-XXXXXX)
chmod 755 "$WORK"  # munged wants every folder above its socket open to all
cleanup() {
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --user=root 2>/dev/null
  bash "$SRC/tests/slurm_cluster.sh" stop "$WORK/cluster"
  if [ "${FAIL:-1}" -eq 0 ]; then rm -rf "$WORK"; else echo "kept $WORK for inspection"; fi
}
trap cleanup EXIT
eval "$(bash "$SRC/tests/slurm_cluster.sh" start "$WORK/cluster")" || { echo "FAIL: the test cluster did not start"; exit 1; }
export SLURM_CONF
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # root only; sbatch passes the environment on
export QWEM_BIN=$BIN
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1: $2"; }

# The node has 2 cores here: the scripts' defaults ask for 16 tasks and 32 GB per node, which
# a site would keep or change on the command line, as here.
FIT=(--ntasks-per-node=2 --mem=6G --time=15)
cd "$WORK"

submit() {  # submit [sbatch options] SCRIPT ARGS...: prints the job id
  sbatch --parsable "${FIT[@]}" "$@" | cut -d';' -f1
}
state() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
wait_done() {  # wait_done JOB...: until each has ended (or 10 minutes)
  local j s
  for _ in $(seq 600); do
    local busy=0
    for j in "$@"; do
      s=$(state "$j")
      case "$s" in COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|"") ;; *) busy=1 ;; esac
    done
    [ $busy -eq 0 ] && return 0
    sleep 1
  done
  echo "timed out waiting for jobs $*"
}
# The completion check used for every job: the state SLURM reports, and exit code 0:0.
completed() { [ "$(state "$1")" = COMPLETED ] && [ "$(field "$1" ExitCode)" = "0:0" ]; }
h5check() { /usr/bin/python3 - "$@"; }

# --- submit everything; SLURM runs them in turn on the two cores ---------------------------
# sbatch --wait, in the background: it prints the id at once, then returns the job's status.
# The closed-form job also runs a site setup file (QWEM_SITE_SETUP: module load and the like).
printf 'echo "site setup: modules would load here"\nexport QWEM_SITE_MARK=1\n' >"$WORK/site.sh"
QWEM_SITE_SETUP=$WORK/site.sh sbatch --wait --parsable "${FIT[@]}" "$SRC/jobs/closed_form.sbatch" "$SRC/share/corpus" \
  "$WORK/closed.h5" >"$WORK/closed.id" 2>"$WORK/closed.sbatch.err" &
closed_wait=$!
pipeline_log=$(QWEM_SBATCH_ARGS="${FIT[*]}" bash "$SRC/jobs/pipeline.sh" "$SRC/share/corpus" "$WORK/pipe")
read -r pipe_closed pipe_sgd < <(echo "$pipeline_log" | sed -n 's/^jobs: //p')
interrupted=$(QWEM_LAUNCHER=mpirun submit "$SRC/jobs/sgd.sbatch" "$SRC/share/corpus" "$WORK/sgd.h5")
sbatch --wait --parsable "${FIT[@]}" "$SRC/jobs/closed_form.sbatch" "$WORK/no-such-corpus" "$WORK/bad.h5" \
  >"$WORK/bad.id" 2>"$WORK/bad.sbatch.err" &
bad_wait=$!
for _ in $(seq 100); do [ -s "$WORK/closed.id" ] && [ -s "$WORK/bad.id" ] && break; sleep 0.1; done
closed=$(cut -d';' -f1 "$WORK/closed.id")
bad_job=$(cut -d';' -f1 "$WORK/bad.id")
bad_pipeline=$(QWEM_SBATCH_ARGS="${FIT[*]}" bash "$SRC/jobs/pipeline.sh" "$WORK/no-such-corpus" "$WORK/badpipe" | sed -n 's/^jobs: //p')
read -r bad_first bad_second <<<"$bad_pipeline"
paper=$(submit "$SRC/jobs/paper.sbatch" "$SRC/share/corpus" "$WORK/paper" tiny)
echo "jobs: closed $closed, pipeline $pipe_closed -> $pipe_sgd, interrupted sgd $interrupted, failing $bad_job," \
     "failing pipeline $bad_first -> $bad_second, paper $paper"

# The time-limit warning for the SGD job, once it is training: SIGUSR1 to the batch shell only,
# as #SBATCH --signal=B:USR1@300 delivers it before the limit.
for _ in $(seq 600); do
  grep -q "train: step" "qwem-sgd-$interrupted.out" 2>/dev/null && break
  case "$(state "$interrupted")" in PENDING|CONFIGURING|RUNNING) sleep 0.5 ;; *) break ;; esac
done
sleep 1
scancel --signal=USR1 --batch "$interrupted"
wait_done "$closed" "$pipe_closed" "$pipe_sgd" "$interrupted" "$bad_job" "$bad_first" "$paper"
wait "$closed_wait"
closed_status=$?
wait "$bad_wait"
bad_status=$?

# --- the closed-form job ---------------------------------------------------------------------
log=qwem-closed-$closed.out
if ! completed "$closed"; then bad closed_form "state $(state "$closed"), exit $(field "$closed" ExitCode)"
elif [ "$closed_status" -ne 0 ]; then bad closed_form "sbatch --wait returned $closed_status"
elif ! grep -q "^\[.*\] qwem-dist .* on 2 ranks on 1 node (.*), SLURM job $closed$" "$log"; then bad closed_form "no ranks/nodes/job line"
elif ! grep -q "^\[.*\] libraries: Open MPI .*PETSc\|^\[.*\] libraries: Open MPI .*Petsc" "$log"; then bad closed_form "no versions line"
elif grep -q $'\r' "$log"; then bad closed_form "carriage returns in the log"
elif ! grep -q "^site setup: modules would load here$" "$log" || ! grep -q "^qwem-job: site setup from $WORK/site.sh$" "$log"; then
  bad closed_form "the site setup (QWEM_SITE_SETUP) did not run"
elif ! grep -q "^\[.*\] count rate: .* tokens/s/rank" "$log"; then bad closed_form "no rate line"
elif ! tail -n 1 "$log" | grep -q "^\[.*\] done: wrote $WORK/closed.h5 in .*lambda_1 = .*analogy .*%"; then
  bad closed_form "last line: $(tail -n 1 "$log")"
elif ! h5check "$WORK/closed.h5" "$closed" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
text = lambda v: v.decode() if isinstance(v, bytes) else v
assert text(f["/meta"].attrs["slurm_job_id"]) == sys.argv[2] and f["/meta"].attrs["ranks"] == 2
assert f["/meta"].attrs["nodes"] == 1
assert f["/vocab/words"].shape == (10000,) and f["/embeddings"].shape == (10000, 200)
assert f["/spectrum/eigenvalues"].shape == (200,) and f["/spectrum/eigenvalues"][0] > 900
assert "overall_accuracy" in f["/eval/analogy_standard"].attrs
EOF
then bad closed_form "HDF5 content"
else ok "closed_form.sbatch: COMPLETED, HDF5 datasets, log lines"; fi

# --- the pipeline ----------------------------------------------------------------------------
if ! completed "$pipe_closed" || ! completed "$pipe_sgd"; then
  bad pipeline "states $(state "$pipe_closed") / $(state "$pipe_sgd")"
elif ! grep -q "eigensolve: loaded 10 eigenpairs of M\* from $WORK/pipe/closed.h5" "qwem-sgd-$pipe_sgd.out"; then
  bad pipeline "the SGD job did not load the closed form's eigenpairs"
elif ! h5check "$WORK/pipe/closed.h5" "$WORK/pipe/sgd.h5" <<'EOF'
import sys, h5py, numpy as np
c, s = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
lam = c["/spectrum/eigenvalues"][:]
assert np.array_equal(s["/train/eigenvalues"][:], lam[:10]), "theory curves not from the closed form"
assert s["/train/step"][-1] == 3000 and s["/train/overlap"][-1, 4] > 0.95
command = s["/meta"].attrs["command_line"]
assert "--eigen-from" in (command.decode() if isinstance(command, bytes) else command)
EOF
then bad pipeline "HDF5 content"
else ok "pipeline.sh: closed form, then SGD after it (afterok) with its eigenpairs; both COMPLETED"; fi

# --- checkpoint on the time-limit signal, requeue, resume ----------------------------------
log=qwem-sgd-$interrupted.out
if ! completed "$interrupted"; then bad requeue "state $(state "$interrupted"), exit $(field "$interrupted" ExitCode)"
elif [ "$(field "$interrupted" Restarts)" != 1 ]; then bad requeue "Restarts=$(field "$interrupted" Restarts), expected 1"
elif ! grep -q "interrupted by signal 10; theory max error" "$log"; then bad requeue "no interruption in the log"
elif ! grep -q "requeued to continue from it" "$log" || ! grep -q "resuming from $WORK/sgd.ckpt.h5 at step [1-9]" "$log"; then
  bad requeue "no requeue and resume in the log"
elif ! tail -n 1 "$log" | grep -q "done: wrote $WORK/sgd.h5 .* sgd qwem pairs: 3000 steps, .* top-5 overlap"; then
  bad requeue "last line: $(tail -n 1 "$log")"
elif ! h5check "$WORK/sgd.h5" "$WORK/pipe/sgd.h5" <<'EOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert a["/train"].attrs["completed_steps"] == 3000
assert np.array_equal(a["/embeddings"][:], b["/embeddings"][:]), "resumed W differs from the uninterrupted run"
EOF
then bad requeue "HDF5 content"
else ok "sgd.sbatch: SIGUSR1 -> checkpoint -> requeue -> resume -> COMPLETED, W bit for bit as uninterrupted"; fi

# --- the paper's reproduction ---------------------------------------------------------------
if ! completed "$paper"; then bad paper "state $(state "$paper"), exit $(field "$paper" ExitCode): $(tail -n 3 "qwem-paper-$paper.out")"
elif ! grep -q "^reproduce: preset tiny, corpus .*, 2 ranks, into $WORK/paper$" "qwem-paper-$paper.out"; then
  bad paper "no 'reproduce: preset tiny ... 2 ranks' line"
elif [ "$(grep -c "^| \(SGNS (word2vec)\|QWEM by SGD\|QWEM closed form (M\*)\|PPMI\|PMI\) | [0-9.]* of [0-9]* |" \
        "$WORK/paper/table.md")" -ne 5 ] ||
     [ "$(grep -c "^| \(QWEM\|SGNS\) | \(qwem\|word2vec\) | 300 |" "$WORK/paper/table.md")" -ne 4 ]; then
  bad paper "table.md lacks methods or ablation cells"
else ok "paper.sbatch: reproduce.sh tiny on the job's 2 tasks, COMPLETED, table.md complete"; fi

# --- failures --------------------------------------------------------------------------------
if [ "$(state "$bad_job")" != FAILED ] || [ "$(field "$bad_job" ExitCode)" != "1:0" ]; then
  bad failed_job "state $(state "$bad_job"), exit $(field "$bad_job" ExitCode)"
elif completed "$bad_job"; then bad failed_job "the completion check accepted a failed job"
elif [ "$bad_status" -eq 0 ]; then bad failed_job "sbatch --wait returned 0 for a failed job"
elif ! grep -q "^qwem-dist: error: corpus path '$WORK/no-such-corpus' does not exist$" "qwem-closed-$bad_job.err"; then
  bad failed_job "no one-line error in qwem-closed-$bad_job.err"
elif [ -e "$WORK/bad.h5" ] || [ -e "$WORK/bad.h5.partial" ]; then bad failed_job "an output file was left"
else ok "a bad corpus: job FAILED (exit 1), one-line error, no output, and the check notices"; fi

# SLURM re-evaluates dependencies on its scheduling passes: give it a few.
for _ in $(seq 60); do
  reason=$(field "$bad_second" Reason)
  [ "$reason" = DependencyNeverSatisfied ] && break
  sleep 1
done
if [ "$(state "$bad_first")" != FAILED ]; then bad failed_pipeline "first stage $(state "$bad_first")"
elif [ "$(state "$bad_second")" != PENDING ] || [ "$reason" != DependencyNeverSatisfied ]; then
  bad failed_pipeline "second stage $(state "$bad_second") ($reason)"
elif [ -e "$WORK/badpipe/sgd.h5" ]; then bad failed_pipeline "the second stage wrote output"
else ok "a failed first stage: the SGD job never starts (DependencyNeverSatisfied)"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
