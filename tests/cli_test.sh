#!/usr/bin/env bash
# End-to-end checks of the qwem-dist executable under mpirun with NP ranks:
#  * bad input: one clear "qwem-dist: error:" line from rank 0 on stderr, exit status 1 on every
#    rank (mpirun's exit status), well within a time limit, and no output file left;
#  * a command line qwem-dist cannot run (a misspelled option, one of ours with one dash, a stray
#    word, a bad value, options that contradict each other): the same, with exit status 2, and
#    nothing run; -h and --help print the usage and run nothing;
#  * good input: exit 0, the HDF5 file with its datasets, the documented clamp warning, and a
#    warning naming each PETSc option that nothing used.
# Usage: cli_test.sh QWEM_DIST NP SHARE_DIR
set -u
BIN=$1
NP=$2
SHARE=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OPENBLAS_NUM_THREADS=1
WORK=$(mktemp -d /tmp/qwem-cli-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PASS=0
FAIL=0
# Seconds: only to catch a hang (timeout's status 124). Generous, so that a correct but slow run on
# a loaded machine never fails.
LIMIT=${QWEM_TEST_LIMIT:-900}

run() {  # run NAME ARGS...: runs qwem-dist, sets RC, OUT, ERR, SECS
  local name=$1
  shift
  local t0=$(date +%s.%N)
  # -q: without it Open MPI adds its own multi-line banner about the non-zero exit
  timeout $LIMIT mpirun -q -n "$NP" "$BIN" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
  RC=$?
  SECS=$(echo "$(date +%s.%N) - $t0" | bc)
  OUT="$WORK/$name.out"
  ERR="$WORK/$name.err"
}

ok() { PASS=$((PASS + 1)); echo "ok   $1 (${SECS}s)"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL $1: $2"; sed 's/^/     | /' "$ERR" | head -5; }

expect_status() {  # expect_status STATUS NAME PATTERN ARGS...
  local status=$1 name=$2 pattern=$3
  shift 3
  rm -f "$WORK/out.h5" "$WORK/out.h5.partial"
  run "$name" --out "$WORK/out.h5" "$@"
  local lines
  lines=$(grep -c "qwem-dist: error:" "$ERR")
  if [ "$RC" -eq 124 ]; then bad "$name" "no exit within ${LIMIT}s"
  elif [ "$RC" -ne "$status" ]; then bad "$name" "exit status $RC, expected $status"
  elif [ "$status" -eq 2 ] && [ -s "$OUT" ]; then bad "$name" "a usage error started a run: $(head -n 1 "$OUT")"
  elif [ "$lines" -ne 1 ]; then bad "$name" "expected exactly one error line, got $lines"
  elif [ "$(grep -vc '^$' "$ERR")" -ne 1 ]; then bad "$name" "stderr has more than the error line"
  elif ! grep -q -- "$pattern" "$ERR"; then bad "$name" "error does not mention '$pattern'"
  elif [ -e "$WORK/out.h5" ] || [ -e "$WORK/out.h5.partial" ]; then bad "$name" "an output file was left behind"
  else ok "$name"; fi
}
expect_error() { expect_status 1 "$@"; }  # expect_error NAME PATTERN ARGS...: bad input
expect_usage() { expect_status 2 "$@"; }  # expect_usage NAME PATTERN ARGS...: a bad command line

# --- bad input --------------------------------------------------------------------------
mkdir -p "$WORK/empty_dir" "$WORK/empty_file" "$WORK/ws" "$WORK/nul" "$WORK/dangling" "$WORK/longline" "$WORK/badgz"
: >"$WORK/empty_file/a.txt"
printf '   \n\t\n  ' >"$WORK/ws/a.txt"
printf 'some words\000 and a nul\n' >"$WORK/nul/a.txt"
echo "fine text here" >"$WORK/dangling/a.txt"
ln -s "$WORK/does-not-exist.txt" "$WORK/dangling/b.txt"
# One 200 MB line with no newline and no whitespace: a single token far over the length limit.
head -c 200000000 /dev/zero | tr '\0' 'a' >"$WORK/longline/big.txt"
printf '\037\213garbage that is not deflate data' >"$WORK/badgz/a.gz"
# Half of a valid gzip file: read as far as it went, silently, before.
mkdir -p "$WORK/truncgz" "$WORK/loop/sub" "$WORK/selfloop" "$WORK/single" "$WORK/victim"
gzip -c "$SHARE/corpus/text8-sample.txt" >"$WORK/full.gz"
head -c $(($(stat -c %s "$WORK/full.gz") / 2)) "$WORK/full.gz" >"$WORK/truncgz/half.gz"
echo "a b c" >"$WORK/loop/a.txt"
ln -s "$WORK/loop" "$WORK/loop/sub/back"   # a directory link back to an ancestor
ln -s self "$WORK/selfloop/self"            # a link to itself: ELOOP
printf 'alone\n' >"$WORK/single/a.txt"     # single-word documents: no co-occurring pairs
printf 'solo\n' >"$WORK/single/b.txt"
head -c 300000 "$SHARE/corpus/text8-sample.txt" >"$WORK/victim/corpus.txt"
ln "$WORK/victim/corpus.txt" "$WORK/hardlink.txt"
VICTIM_SUM=$(md5sum <"$WORK/victim/corpus.txt")

expect_error missing_path "does not exist" --corpus "$WORK/nope"
expect_error no_files "no files" --corpus "$WORK/empty_dir"
expect_error empty_corpus "no tokens" --corpus "$WORK/empty_file"
expect_error whitespace_only "no tokens" --corpus "$WORK/ws"
expect_error dangling_symlink "dangling" --corpus "$WORK/dangling"
expect_error nul_bytes "NUL byte" --corpus "$WORK/nul"
expect_error line_200mb "no tokens" --corpus "$WORK/longline"
expect_error corrupt_gzip "gzip" --corpus "$WORK/badgz"
expect_error truncated_gzip "corrupt gzip file.*unexpected end of file" --corpus "$WORK/truncgz"
expect_error directory_link_loop "symbolic link loop" --corpus "$WORK/loop"
expect_error self_link_loop "symbolic link loop" --corpus "$WORK/selfloop"
expect_error no_pairs "no co-occurring pairs" --corpus "$WORK/single" --vocab-size 2 --dim 1
# Outputs that would destroy an input or each other, by inode, and bad output folders: refused
# right after the corpus is listed, before any reading (and the corpus is left as it was).
expect_error out_is_corpus "would overwrite the corpus file" --corpus "$WORK/victim" --out "$WORK/victim/corpus.txt"
expect_error out_is_hardlink "would overwrite the corpus file" --corpus "$WORK/victim" --out "$WORK/hardlink.txt"
expect_error export_is_corpus "--export-w2v .* would overwrite the corpus file" --corpus "$WORK/victim" \
  --export-w2v "$WORK/victim/corpus.txt"
expect_error export_is_out "would write the same file" --corpus "$WORK/victim" --export-w2v "$WORK/out.h5"
expect_error out_folder_missing "folder '$WORK/nofolder' does not exist" --corpus "$WORK/victim" --out "$WORK/nofolder/o.h5"
expect_error export_folder_missing "--export-w2v.*does not exist" --corpus "$WORK/victim" --export-w2v "$WORK/nofolder/v.txt"
expect_error checkpoint_folder_missing "--checkpoint.*does not exist" --corpus "$WORK/victim" --mode sgd \
  --checkpoint "$WORK/nofolder/c.h5"
expect_error resume_missing "--resume '$WORK/none.h5'" --corpus "$WORK/victim" --mode sgd --resume "$WORK/none.h5"
expect_error negatives_memory "the training would take about .* per rank" --corpus "$SHARE/corpus" --vocab-size 300 \
  --dim 4 --mode sgd --batch 1000 --negatives 1000000
if [ "$(md5sum <"$WORK/victim/corpus.txt")" = "$VICTIM_SUM" ]; then ok "the corpus file is untouched"
else bad "the corpus file is untouched" "it was overwritten"; fi
expect_usage window_zero "window" --corpus "$SHARE/corpus" --window 0
expect_usage window_negative "window" --corpus "$SHARE/corpus" --window -3
expect_usage window_text "window" --corpus "$SHARE/corpus" --window abc
expect_usage vocab_text "vocab-size" --corpus "$SHARE/corpus" --vocab-size 10k
expect_usage vocab_zero "vocab-size" --corpus "$SHARE/corpus" --vocab-size 0
expect_usage min_count_text "min-count" --corpus "$SHARE/corpus" --min-count 1.5
expect_usage unknown_option "--frobnicate" --corpus "$SHARE/corpus" --frobnicate
expect_usage no_corpus "corpus" --vocab-size 10
expect_usage bad_target "--target" --corpus "$SHARE/corpus" --target svd
expect_usage bad_operator "--operator" --corpus "$SHARE/corpus" --operator fast
expect_error dim_too_large "must be smaller than V" --corpus "$SHARE/corpus" --vocab-size 50 --dim 50
expect_usage dim_text "dim" --corpus "$SHARE/corpus" --dim many
expect_error not_converged "only [0-9]* of 20 eigenpairs converged.*--eig-max-products" --corpus "$SHARE/corpus" \
  --vocab-size 500 --dim 20 --eig-max-products 32
expect_error not_converged_slepc "converged.*-eps_max_it" --corpus "$SHARE/corpus" --vocab-size 500 --dim 20 \
  --eigensolver slepc -eps_max_it 1
expect_usage windows_qwem "sampling windows.*sgns" --corpus "$SHARE/corpus" --mode sgd --loss qwem --sampling windows
expect_usage bad_sampling "--sampling" --corpus "$SHARE/corpus" --mode sgd --sampling corpus
expect_usage separate_pairs "output-vectors separate" --corpus "$SHARE/corpus" --mode sgd --loss sgns --output-vectors separate
# The appendix ablation's settings: each where it applies, with what it needs.
expect_usage bad_weights "--weights" --corpus "$SHARE/corpus" --mode sgd --weights uniform
expect_usage weights_closed_form "--weights and --negative-pairing apply to --mode sgd" --corpus "$SHARE/corpus" \
  --weights word2vec
expect_usage weights_windows "apply to pair sampling" --corpus "$SHARE/corpus" --mode sgd --loss sgns \
  --sampling windows --weights qwem
expect_usage sampled_iid "--weights sampled .*--negative-pairing target" --corpus "$SHARE/corpus" --mode sgd \
  --weights sampled --negative-pairing iid
expect_usage group_unshared "--negative-group applies to --negative-pairing shared" --corpus "$SHARE/corpus" \
  --mode sgd --negative-group 8
expect_usage group_zero "--negative-group must be at least 1" --corpus "$SHARE/corpus" --mode sgd \
  --negative-pairing shared --negative-group 0
expect_usage bad_precision "--pair-precision" --corpus "$SHARE/corpus" --mode sgd --pair-precision half
expect_usage precision_closed_form "--pair-precision applies to --mode sgd" --corpus "$SHARE/corpus" \
  --pair-precision single
expect_usage precision_windows "--pair-precision applies to pair sampling" --corpus "$SHARE/corpus" --mode sgd \
  --loss sgns --sampling windows --pair-precision single
expect_usage word2vec_no_subsample "--weights word2vec needs .*--subsample" --corpus "$SHARE/corpus" --mode sgd \
  --weights word2vec
expect_usage subsample_qwem "--subsample is word2vec's subsampling: --weights qwem does not use it" \
  --corpus "$SHARE/corpus" --mode sgd --subsample 1e-4
expect_usage subsample_closed_form "--subsample applies to --mode sgd" --corpus "$SHARE/corpus" --subsample 1e-4
expect_usage auto_word2vec "--steps auto follows M\*'s theory" --corpus "$SHARE/corpus" --mode sgd --loss sgns \
  --steps auto
expect_usage lr_drop_factor "--lr-drop-factor must be in" --corpus "$SHARE/corpus" --mode sgd --lr-drop 10 \
  --lr-drop-factor 0
expect_usage auto_drop_linear "--steps auto with --lr-drop needs --lr-schedule constant" --corpus "$SHARE/corpus" \
  --mode sgd --steps auto --lr-drop 10 --lr-schedule linear
expect_usage lr_drop_word "--lr-drop: 'soon' is not a step or auto" --corpus "$SHARE/corpus" --mode sgd \
  --lr-drop soon
expect_usage lr_drop_auto_linear "--lr-drop auto needs --lr-schedule constant" --corpus "$SHARE/corpus" \
  --mode sgd --steps 100 --lr-drop auto --lr-schedule linear
expect_usage lr_drop_auto_windows "--lr-drop auto derives the step from" --corpus "$SHARE/corpus" \
  --mode sgd --sampling windows --steps 100 --lr-drop auto
expect_usage lr_drop_auto_sgns "--lr-drop auto follows M" --corpus "$SHARE/corpus" \
  --mode sgd --loss sgns --steps 100 --lr-drop auto
expect_usage smoothing_range "--negative-smoothing must be in \[0, 1)" --corpus "$SHARE/corpus" --mode sgd \
  --negative-smoothing 1
expect_usage smoothing_word2vec "--negative-smoothing reweights the negatives of --weights qwem" \
  --corpus "$SHARE/corpus" --mode sgd --weights word2vec --subsample 1e-5 --negative-smoothing 0.5
expect_usage smoothing_gd "--negative-smoothing applies to --mode sgd" --corpus "$SHARE/corpus" --mode gd \
  --negative-smoothing 0.5
expect_usage theory_modes_below_d "--theory-modes must be at least --dim" --corpus "$SHARE/corpus" --mode gd \
  --dim 10 --theory-modes 5
expect_usage theory_modes_closed "--theory-modes is for --mode sgd|gd" --corpus "$SHARE/corpus" --theory-modes 20
expect_usage theory_modes_no_theory "--theory-modes needs the theory curves" --corpus "$SHARE/corpus" --mode sgd \
  --no-theory --theory-modes 300
# Strict command line: nothing that looks like a typo is ignored.
expect_usage one_dash_option "'-vocab-size' has one dash.*--vocab-size" -vocab-size 100 --corpus "$SHARE/corpus"
expect_usage one_dash_flag "'-counts-only' has one dash" --corpus "$SHARE/corpus" -counts-only
expect_usage stray_positional "unexpected argument 'out2.h5'" --corpus "$SHARE/corpus" out2.h5
expect_usage stray_after_petsc_value "unexpected argument 'stray'" --corpus "$SHARE/corpus" -eps_tol 1e-3 stray
expect_usage misspelled_option "unknown option '--vocab-sz'; did you mean --vocab-size?" --corpus "$SHARE/corpus" --vocab-sz 100
expect_usage misspelled_with_value "unknown option '--windw=5'; did you mean --window?" --corpus "$SHARE/corpus" --windw=5
expect_usage misspelled_no_corpus "unknown option '--corpsu'" --corpsu "$SHARE/corpus"
# Numbers that are not what they look like.
expect_usage ns_weight_inf "--ns-weight must be a positive number" --corpus "$SHARE/corpus" --ns-weight inf
expect_usage subsample_nan "--subsample must be a non-negative number" --corpus "$SHARE/corpus" --subsample nan
expect_usage steps_overflow "--steps: '99999999999999999999' is out of range" --corpus "$SHARE/corpus" --steps 99999999999999999999
expect_usage octal_looking "--vocab-size: '010': write decimal numbers without leading zeros" --corpus "$SHARE/corpus" \
  --vocab-size 010
expect_usage hex "--window: '0x10' is not a decimal number" --corpus "$SHARE/corpus" --window 0x10
expect_error missing_analogies "analogy file" --corpus "$SHARE/corpus" --vocab-size 500 --dim 5 --analogies /nonexistent.txt
if [ "$(id -u)" -ne 0 ]; then  # root reads everything, so permission errors only show as a user
  mkdir -p "$WORK/unreadable" && echo "x y" >"$WORK/unreadable/a.txt" && chmod 000 "$WORK/unreadable/a.txt"
  expect_error unreadable_file "cannot open" --corpus "$WORK/unreadable"
fi
# -h and --help: the usage, exit 0, nothing run, no warnings.
for flag in -h --help; do
  rm -f "$WORK/out.h5"
  run "help$flag" --corpus "$SHARE/corpus" --out "$WORK/out.h5" $flag
  if [ "$RC" -ne 0 ]; then bad "help$flag" "exit status $RC"
  elif ! grep -q "^Usage: qwem-dist" "$OUT"; then bad "help$flag" "no usage printed"
  elif grep -q "discover" "$OUT" || [ -e "$WORK/out.h5" ]; then bad "help$flag" "a run started"
  elif [ -s "$ERR" ]; then bad "help$flag" "stderr: $(head -n 1 "$ERR")"
  else ok "help$flag"; fi
done
# The 200 MB file goes before the good-input runs fill the disk cache further.
rm -rf "$WORK/longline"

# --- good input -------------------------------------------------------------------------
# V larger than the number of distinct words: clamped, with one warning line, exit 0.
mkdir -p "$WORK/small"
echo "a b c a b a" >"$WORK/small/x.txt"
# A misspelled PETSc option (-eps_tl) cannot be told from PETSc's own before the run: it is named
# in a warning after it.
run clamp --corpus "$WORK/small" --vocab-size 50 --counts-only --out "$WORK/clamp.h5" -eps_tl 1e-4
if [ "$RC" -ne 0 ]; then bad clamp "exit status $RC"
elif ! grep -q "warning: --vocab-size=50 but only 3 words" "$ERR"; then bad clamp "no clamp warning"
elif [ ! -s "$WORK/clamp.h5" ]; then bad clamp "no output file"
elif [ "$(grep -c "warning: PETSc option -eps_tl 1e-4 was not used" "$ERR")" -ne 1 ]; then bad clamp "no warning about -eps_tl"
else ok clamp; fi

# A corpus without co-occurring pairs still has counts: an empty CSR of the right shape.
run no_pairs_counts --corpus "$WORK/single" --counts-only --save-cooccurrence --out "$WORK/np.h5"
if [ "$RC" -ne 0 ]; then bad no_pairs_counts "exit status $RC"
elif ! /usr/bin/python3 - "$WORK/np.h5" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
assert list(f["/cooccurrence/indptr"][:]) == [0, 0, 0] and len(f["/cooccurrence/data"]) == 0
EOF
then bad no_pairs_counts "not an empty 2 x 2 CSR"
else ok no_pairs_counts; fi

# UTF-8 words: labelled as UTF-8 in the file (h5py's .asstr() decodes them, which failed on
# ASCII-labelled data); an empty string attribute (no SLURM job here) reads as empty.
mkdir -p "$WORK/utf8"
printf 'café naïve 東京 café straße naïve café\n' >"$WORK/utf8/x.txt"
run utf8 --corpus "$WORK/utf8" --counts-only --out "$WORK/utf8.h5"
if [ "$RC" -ne 0 ]; then bad utf8 "exit status $RC"
elif ! env -u SLURM_JOB_ID /usr/bin/python3 - "$WORK/utf8.h5" <<'EOF'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
words = list(f["/vocab/words"].asstr()[:])
assert words == ["café", "naïve", "straße", "東京"], words
assert f["/meta"].attrs["slurm_job_id"] == b"", repr(f["/meta"].attrs["slurm_job_id"])
assert f["/meta"].attrs.get_id("slurm_job_id").get_type().get_cset() == h5py.h5t.CSET_UTF8
EOF
then bad utf8 "UTF-8 check failed"
else ok utf8; fi

# The bundled corpus: log lines, datasets and provenance in the file. --vocab-size is given
# twice: the last value wins (batch scripts put defaults first).
run bundled --corpus "$SHARE/corpus" --vocab-size 3000 --vocab-size 2000 --dim 20 --save-cooccurrence --full-spectrum \
  --progress-seconds 0.001 --out "$WORK/b.h5" -log_view --eig-ncv 80
if [ "$RC" -ne 0 ]; then bad bundled "exit status $RC"
elif ! head -n 1 "$OUT" | grep -q "qwem-dist .* on $NP ranks\? on 1 node ($(hostname))"; then bad bundled "first line: $(head -n 1 "$OUT")"
elif ! grep -q "^\[.*\] eigensolve: restart [0-9]*, [0-9]* of 20 converged.*[0-9] s\(, about [0-9.]* s left\)\?$" "$OUT"; then
  bad bundled "no periodic eigensolve progress line"
elif ! grep -q "^\[.*\] done: wrote $WORK/b.h5 in .*, lambda_1 = .*, analogy .*%" "$OUT"; then
  bad bundled "no summary line"  # the last line but for -log_view's report
elif ! grep -q "Performance Summary" "$OUT"; then bad bundled "-log_view did not reach PETSc"
elif grep -q "was not used" "$ERR"; then bad bundled "a used option reported unused: $(grep "was not used" "$ERR")"
elif ! /usr/bin/python3 - "$WORK/b.h5" "$NP" <<'EOF'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
words = f["/vocab/words"][:]; counts = f["/vocab/counts"][:]
assert len(words) == 2000 and words[0] == b"the", words[:3]
assert np.all(np.diff(counts) <= 0)
m = f["/meta"].attrs
assert m["ranks"] == int(sys.argv[2]) and m["window"] == 16 and m["vocab_size"] == 2000
assert m["nodes"] == 1 and len(m["node_names"]) > 0 and "slurm_job_id" in m
for k in ["version", "command_line", "timestamp", "petsc_version", "slepc_version", "hdf5_version", "mpi_version"]:
    assert k in m, k
c = f["/corpus"].attrs
assert c["n_total_tokens"] == 846986, c["n_total_tokens"]
ip, ix, d = f["/cooccurrence/indptr"][:], f["/cooccurrence/indices"][:], f["/cooccurrence/data"][:]
assert len(ip) == 2001 and ip[-1] == len(d) == c["nnz"]
# C is symmetric: compare with its transpose through a dense copy
dense = np.zeros((2000, 2000), dtype=np.int64)
rows = np.repeat(np.arange(2000), np.diff(ip)); dense[rows, ix] = d
assert (dense == dense.T).all()
E = f["/embeddings"][:]; lam = f["/spectrum/eigenvalues"][:]
assert E.shape == (2000, 20) and np.all(np.diff(lam) <= 0) and f["/spectrum"].attrs["n_converged"] >= 20
full = f["/spectrum/full_eigenvalues"][:]
assert len(full) == 2000 and np.allclose(full[:20], lam, rtol=1e-7, atol=1e-9 * abs(full).max())
assert "overall_accuracy" in f["/eval/analogy_standard"].attrs and f["/concepts/top_words"].shape == (80,)
# Per phase: wall seconds, and CPU seconds summed over the ranks (seconds, not micro- or
# milliseconds: within twice the ranks' wall time, and not all zero).
t = f["/timings"]
wall, user, system = t["seconds"][:], t["cpu_user_seconds_sum"][:], t["cpu_system_seconds_sum"][:]
assert len(t["phase"]) == len(wall) == len(user) == len(system) > 5
assert np.all(user >= 0) and np.all(system >= 0) and (user + system).sum() > 0
assert np.all(user + system <= 2 * int(sys.argv[2]) * wall + 0.05), (wall, user, system)
EOF
then bad bundled "HDF5 content check failed"
else ok bundled; fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
