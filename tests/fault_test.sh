#!/usr/bin/env bash
# Faults a batch job meets, end to end under mpirun with 2 ranks; each with its expected exit
# status, message and leftovers:
#  1. a full disk (a 1 MiB tmpfs; needs root, else these cases are skipped with the reason):
#     the result refused before writing (not enough space), or a write failing midway (the
#     space check off): one line naming the file and the cause, exit 1, no partial file left,
#     no hang; a checkpoint whose folder is full goes to the folder of --out instead, and the
#     run resumes from it;
#  2. SIGKILL of one rank inside each phase (stopped first, and the phase checked unfinished):
#     the job ends, non-zero, within the time limit, the phase never ends, and no file passes
#     for a result;
#  3. signals: SIGUSR1 to mpirun (exit 3, checkpoint, resume completes), SIGTERM and SIGINT to
#     mpirun with Open MPI's kill timeout raised (the ranks write the checkpoint; mpirun itself
#     exits 1, as Open MPI does on SIGTERM), SIGTERM to the ranks themselves (as srun and
#     scancel deliver it: exit 3), and a signal during the eigensolve of a training run (exit 3
#     at its next restart, nothing to checkpoint yet).
# Usage: fault_test.sh QWEM_DIST SHARE_DIR
set -u
BIN=$1
SHARE=$2
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/qwem-fault-XXXXXX)
FULL=$WORK/full
cleanup() {
  mountpoint -q "$FULL" 2>/dev/null && umount "$FULL"
  rm -rf "$WORK"
}
trap cleanup EXIT
PASS=0
FAIL=0
LIMIT=${QWEM_TEST_LIMIT:-600}  # seconds, only to catch a hang
ok() { PASS=$((PASS + 1)); echo "ok   $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1: $2"; [ -f "${3:-}" ] && sed 's/^/     | /' "$3" | tail -n 8; }

# A corpus large enough that every phase lasts a moment: the bundled sample, 12 times.
mkdir -p "$WORK/big"
for _ in $(seq 12); do cat "$SHARE/corpus/text8-sample.txt"; done >"$WORK/big/c.txt"
NOEVAL=(--analogies none --similarity none)
SGD=(--mode sgd --steps 1000000 --batch 4096 --lr 4 --init-scale 1e-2)
SHORT=(--mode sgd --steps 2000 --batch 2048 --lr 4 --init-scale 1e-2)

# start NAME ARGS...: qwem-dist in the background under mpirun; PID is mpirun's.
start() {
  local name=$1
  shift
  mpirun -n 2 "$BIN" "$@" >"$WORK/$name.log" 2>&1 &
  PID=$!
}
# wait_for NAME PATTERN: until the log has PATTERN (or the run ended); 0 if it appeared.
wait_for() {
  for _ in $(seq $((LIMIT * 10))); do
    grep -q "$2" "$WORK/$1.log" && return 0
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# finish: waits for mpirun (at most LIMIT s) and sets RC (124 on a hang).
finish() {
  local waited=0
  while kill -0 "$PID" 2>/dev/null && [ $waited -lt $((LIMIT * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$PID" 2>/dev/null; then
    kill -9 "$PID" 2>/dev/null
    pkill -9 -f "$WORK" 2>/dev/null
    RC=124
  else
    wait "$PID"
    RC=$?
  fi
}
errors() { grep -c "^qwem-dist: error:" "$WORK/$1.log"; }

# --- 1. a full disk -------------------------------------------------------------------------
mkdir -p "$FULL"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=1m tmpfs "$FULL" 2>/dev/null; then
  echo "skip disk-full cases: mounting a 1 MiB tmpfs needs root"
else
  fill() { rm -f "$FULL/fill"; dd if=/dev/zero of="$FULL/fill" bs=1k count=900 2>/dev/null; }
  for how in checked midway; do
    fill
    [ $how = midway ] && export QWEM_NO_SPACE_CHECK=1
    start "full-$how" --corpus "$SHARE/corpus" --vocab-size 2000 --dim 20 --out "$FULL/out.h5"
    finish
    unset QWEM_NO_SPACE_CHECK
    want="not enough space for '$FULL/out.h5'"
    [ $how = midway ] && want="cannot write '$FULL/out.h5.partial' .*no space left"
    if [ $RC -ne 1 ]; then bad "full disk ($how): exit 1" "status $RC" "$WORK/full-$how.log"
    elif [ "$(errors full-$how)" -ne 1 ] || ! grep -q "qwem-dist: error: $want" "$WORK/full-$how.log"; then
      bad "full disk ($how): one line naming the file and the cause" "" "$WORK/full-$how.log"
    elif [ -e "$FULL/out.h5" ] || [ -e "$FULL/out.h5.partial" ]; then
      bad "full disk ($how): nothing left" "$(ls "$FULL")"
    else ok "full disk ($how): exit 1, one line ('$want'), no file left"; fi
  done
  for how in checked midway; do
    fill
    rm -f "$WORK/ckpt.h5" "$WORK/resumed.h5"
    [ $how = midway ] && export QWEM_NO_SPACE_CHECK=1
    start "ckpt-$how" --corpus "$SHARE/corpus" --vocab-size 2000 --dim 20 "${SHORT[@]}" "${NOEVAL[@]}" \
      --out "$WORK/resumed.h5" --checkpoint "$FULL/ckpt.h5"
    wait_for "ckpt-$how" "train: step [1-9]"
    kill -USR1 "$PID"
    finish
    unset QWEM_NO_SPACE_CHECK
    if [ $RC -ne 3 ]; then bad "full checkpoint folder ($how): exit 3" "status $RC" "$WORK/ckpt-$how.log"
    elif ! grep -q "warning: could not write the checkpoint" "$WORK/ckpt-$how.log" ||
         ! grep -q "checkpoint written to $WORK/ckpt.h5" "$WORK/ckpt-$how.log"; then
      bad "full checkpoint folder ($how): written to the folder of --out" "" "$WORK/ckpt-$how.log"
    elif [ -e "$FULL/ckpt.h5.partial" ]; then bad "full checkpoint folder ($how): no partial file left" ""
    else
      timeout "$LIMIT" mpirun -q -n 2 "$BIN" --corpus "$SHARE/corpus" --vocab-size 2000 --dim 20 "${SHORT[@]}" \
        "${NOEVAL[@]}" --out "$WORK/resumed.h5" --checkpoint "$WORK/ckpt.h5" --resume "$WORK/ckpt.h5" \
        >"$WORK/resume-$how.log" 2>&1
      rc=$?
      if [ $rc -ne 0 ] || ! grep -q "resuming from $WORK/ckpt.h5 at step [1-9]" "$WORK/resume-$how.log"; then
        bad "full checkpoint folder ($how): the fallback checkpoint is a real one" "resume status $rc" \
          "$WORK/resume-$how.log"
      else ok "full checkpoint folder ($how): exit 3, a warning, the checkpoint in the folder of --out"; fi
    fi
  done
  umount "$FULL"
fi

# --- 2. SIGKILL of one rank in each phase ----------------------------------------------------
# Each phase: the line printed when the phase before it ends, and the line that ends it.
KILLS=("read|discover:|s\] read:" "count|vocabulary:|s\] count:" "reduce|count rate:|s\] reduce:"
       "eigensolve|target:|s\] eigensolve:" "train|train: step [1-9]|steps this run" "write|discover:|s\] write:")
# Inside the phase, for sure: the victim (rank 1) is stopped with SIGSTOP, and the state is
# checked while it stands still. Every phase ends in a collective (its peak memory is a
# reduction; the write's rename waits for every rank's agreed close), so rank 0 cannot end the
# phase without the victim: if its end line is still missing a grace second later (mpirun
# forwards the output), the victim is inside it, and is killed there. A try that came too late
# (the victim was past the phase) is let go and tried again, up to 10 times; the write phase
# (a few tens of ms: the file goes to the page cache) is caught by polling for its .partial file
# in a tight loop, the others by the log.
for k in "${KILLS[@]}"; do
  IFS='|' read -r phase pattern ended <<<"$k"
  t0=
  args=(--corpus "$WORK/big" --vocab-size 10000 --dim 100 --out "$WORK/kill.h5")
  [ "$phase" = train ] && args+=("${SGD[@]}" "${NOEVAL[@]}")
  # The eigensolve: long enough to be killed inside (double precision, tight tolerance).
  [ "$phase" = eigensolve ] && args+=(--dim 300 --eig-tol 1e-12)
  # The write phase: the counts of the large corpus, saved, take a moment to write.
  [ "$phase" = write ] && args+=(--dim 10 --save-cooccurrence "${NOEVAL[@]}")
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$WORK/kill.h5" "$WORK/kill.h5.partial"
    start "kill-$phase" "${args[@]}"
    if ! wait_for "kill-$phase" "$pattern"; then break; fi
    victim=$(pgrep -f -- "--out $WORK/kill.h5" | grep -v "^$PID\$" | tail -n 1)
    [ "$phase" = write ] && until [ -e "$WORK/kill.h5.partial" ] || ! kill -0 "$PID" 2>/dev/null; do :; done
    kill -STOP "$victim" 2>/dev/null
    sleep 1
    if grep -q "$ended" "$WORK/kill-$phase.log" || [ -e "$WORK/kill.h5" ] ||
       { [ "$phase" = write ] && [ ! -e "$WORK/kill.h5.partial" ]; }; then
      kill -CONT "$victim" 2>/dev/null
      finish
      echo "     (try $attempt: the victim stopped after the $phase phase; again)"
      continue
    fi
    t0=$(date +%s)
    kill -9 "$victim" 2>/dev/null
    finish
    break
  done
  if [ -z "${t0:-}" ]; then
    bad "SIGKILL in $phase" "never stopped inside the phase in 10 tries" "$WORK/kill-$phase.log"; finish; continue
  fi
  if [ $RC -eq 0 ] || [ $RC -eq 124 ]; then bad "SIGKILL of rank 1 in $phase" "status $RC" "$WORK/kill-$phase.log"
  elif [ -e "$WORK/kill.h5" ]; then bad "SIGKILL of rank 1 in $phase" "a result file exists"
  elif grep -q "$ended" "$WORK/kill-$phase.log"; then bad "SIGKILL of rank 1 in $phase" "the phase ended" "$WORK/kill-$phase.log"
  else ok "SIGKILL of rank 1 in $phase: the job ended in $(($(date +%s) - t0)) s, status $RC, the phase unfinished"; fi
done

# --- 3. signals ------------------------------------------------------------------------------
ckpt_status() {  # ckpt_status FILE: prints /train@status of a checkpoint (or nothing)
  /usr/bin/python3 -c "import h5py,sys; print(h5py.File(sys.argv[1])['/train'].attrs['status'].decode())" "$1" 2>/dev/null
}
for how in usr1 term int ranks; do
  rm -f "$WORK/sig.h5" "$WORK/sig.ckpt.h5"
  extra=()
  # A raised kill timeout lets the ranks finish the checkpoint after mpirun's SIGTERM (and makes
  # mpirun wait twice as long after their exit).
  [ $how = term ] || [ $how = int ] && extra=(--mca odls_base_sigkill_timeout 5)
  mpirun "${extra[@]}" -n 2 "$BIN" --corpus "$SHARE/corpus" --vocab-size 2000 --dim 20 "${SGD[@]}" "${NOEVAL[@]}" \
    --out "$WORK/sig.h5" >"$WORK/sig-$how.log" 2>&1 &
  PID=$!
  wait_for "sig-$how" "train: step [1-9]"
  case $how in
    usr1) kill -USR1 "$PID"; want=3 ;;
    term) kill -TERM "$PID"; want=1 ;;  # Open MPI's mpirun exits 1 on SIGTERM whatever the ranks do
    int) kill -INT "$PID"; want=1 ;;
    ranks) pkill -TERM -P "$PID"; want=3 ;;  # mpirun's children: the ranks
  esac
  finish
  if [ $RC -ne $want ]; then bad "signal ($how): exit $want" "status $RC" "$WORK/sig-$how.log"
  elif [ "$(ckpt_status "$WORK/sig.ckpt.h5")" != interrupted ] || [ -e "$WORK/sig.h5" ]; then
    bad "signal ($how): a checkpoint, no result" "" "$WORK/sig-$how.log"
  else ok "signal ($how): mpirun status $RC, checkpoint written"; fi
done
# A long solve (tight tolerance: double precision, many restarts), so that the signal comes
# during it however fast the machine.
start eig-signal --corpus "$WORK/big" --vocab-size 10000 --dim 300 --eig-tol 1e-12 "${SGD[@]}" "${NOEVAL[@]}" \
  --out "$WORK/eig.h5"
wait_for eig-signal "target:"
sleep 1
kill -USR1 "$PID"
finish
if [ $RC -ne 3 ] || ! grep -q "during the eigensolve, before training" "$WORK/eig-signal.log"; then
  bad "a signal during the eigensolve: exit 3 at its next restart" "status $RC" "$WORK/eig-signal.log"
else ok "a signal during the eigensolve: exit 3, nothing to checkpoint yet"; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
