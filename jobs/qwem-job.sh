# Shared part of the qwem-dist batch scripts in jobs/ (sourced, not submitted).
#
# Provides:
#   qwem_job_start NAME   find the qwem-dist checkout and binary, print the job's header lines
#   qwem_launch ARGS...   run qwem-dist ARGS on every task of the allocation, forwarding a
#                         SIGUSR1/SIGTERM the batch shell receives to the ranks; returns its status
#   qwem_job_end STATUS   on failure, a last log line saying so, and the job's exit status
#
# Settings (environment variables, all optional):
#   QWEM_HOME      the qwem-dist checkout (set by the batch script from the submitted path)
#   QWEM_BIN       the executable (default: $QWEM_HOME/build/qwem-dist, else qwem-dist on PATH)
#   QWEM_LAUNCHER  srun (default: srun --mpi=pmix) or mpirun (Open MPI's, inside the allocation)
#   QWEM_SRUN_MPI  srun's --mpi plugin (default pmix)
#   QWEM_SITE_SETUP  a bash file sourced first, for the site's environment: module load, a conda
#                  or venv activation, library paths (default: jobs/site.sh of the checkout if it
#                  exists; jobs/site.sh.example shows the form). A setup that fails ends the job.

qwem_job_start() {
  local name=$1
  : "${SLURM_JOB_ID:?this is a SLURM batch script: submit it with sbatch (see jobs/README.md)}"
  QWEM_HOME=$(cd "$QWEM_HOME" && pwd)
  local setup=${QWEM_SITE_SETUP:-$QWEM_HOME/jobs/site.sh}
  if [ -n "${QWEM_SITE_SETUP:-}" ] || [ -f "$setup" ]; then
    # shellcheck disable=SC1090  # the site's own file
    if ! source "$setup"; then
      echo "qwem-job: error: the site setup $setup failed (QWEM_SITE_SETUP)" >&2
      exit 1
    fi
    echo "qwem-job: site setup from $setup"
  fi
  if [ -z "${QWEM_BIN:-}" ]; then
    if [ -x "$QWEM_HOME/build/qwem-dist" ]; then QWEM_BIN=$QWEM_HOME/build/qwem-dist
    else QWEM_BIN=$(command -v qwem-dist || true); fi
  fi
  if [ -z "$QWEM_BIN" ] || [ ! -x "$QWEM_BIN" ]; then
    echo "qwem-job: error: no qwem-dist executable (build it in $QWEM_HOME/build, or set QWEM_BIN)" >&2
    exit 1
  fi
  QWEM_LAUNCHER=${QWEM_LAUNCHER:-srun}
  case "$QWEM_LAUNCHER" in
    srun) QWEM_LAUNCH=(srun --mpi="${QWEM_SRUN_MPI:-pmix}" --kill-on-bad-exit=1) ;;
    mpirun) QWEM_LAUNCH=(mpirun) ;;
    *) echo "qwem-job: error: QWEM_LAUNCHER must be srun or mpirun, not '$QWEM_LAUNCHER'" >&2; exit 1 ;;
  esac
  # One rank per core: no hidden BLAS or OpenMP threads competing with the ranks.
  export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  echo "qwem-job: $name, job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "qwem-job: ${SLURM_NTASKS:-?} tasks on ${SLURM_JOB_NUM_NODES:-?} nodes (${SLURM_JOB_NODELIST:-?}), launcher: ${QWEM_LAUNCH[*]}"
  echo "qwem-job: binary $QWEM_BIN"
}

# Runs the launcher in the background and waits for it. Bash runs a trap only between
# commands, so a foreground launcher would hold the signal until it ended; here the trap
# forwards SIGUSR1/SIGTERM at once (Open MPI's mpirun passes SIGUSR1 on to the ranks but answers
# SIGTERM by killing them, so the batch scripts ask SLURM for SIGUSR1: --signal=B:USR1@...).
qwem_launch() {
  local pid rc again
  "${QWEM_LAUNCH[@]}" "$QWEM_BIN" "$@" &
  pid=$!
  trap 'echo "qwem-job: got SIGUSR1, forwarding to the ranks (checkpoint, then stop)"; kill -USR1 $pid 2>/dev/null' USR1
  trap 'echo "qwem-job: got SIGTERM, forwarding SIGUSR1 to the ranks"; kill -USR1 $pid 2>/dev/null' TERM
  while :; do
    wait "$pid"
    rc=$?
    # Above 128: wait was cut short by a trapped signal; the launcher may still be running.
    [ "$rc" -gt 128 ] || break
    if kill -0 "$pid" 2>/dev/null; then continue; fi
    wait "$pid"
    again=$?
    [ "$again" -eq 127 ] || rc=$again
    break
  done
  trap - USR1 TERM
  return "$rc"
}

# The job ends with qwem-dist's status, so SLURM marks a failed run FAILED (and afterok
# dependencies do not start). On success qwem-dist's own "done: wrote OUT; summary" line is
# the last line of the log.
qwem_job_end() {
  local rc=$1
  if [ "$rc" -ne 0 ]; then
    echo "qwem-job: qwem-dist failed with status $rc (its error is in the job's error file)"
    echo "qwem-job: qwem-dist failed with status $rc" >&2
  fi
  exit "$rc"
}
