#!/usr/bin/env bash
# share/paper/reproduce.sh at its tiny preset (the bundled sample): every run completes, the
# table has its five methods with numbers and the ablation's four cells, the plots and the
# linear-representation file exist, and an existing output folder is refused (nothing is
# overwritten).
# Usage: paper_test.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BUILD=$1
SRC=$2
WORK=$(mktemp -d /tmp/qwem-paper-test-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
FAILED=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; FAILED=1; }
export MPIRUN="mpirun --allow-run-as-root --oversubscribe" BUILD
if ! timeout 1500 bash "$SRC/share/paper/reproduce.sh" "$SRC/share/corpus" "$WORK/out" tiny >"$WORK/log" 2>&1; then
  bad "reproduce.sh tiny failed: $(tail -n 3 "$WORK/log")"
else
  ok "reproduce.sh tiny ran"
  rows=$(grep -c "^| \(SGNS (word2vec)\|QWEM by SGD\|QWEM closed form (M\*)\|PPMI\|PMI\) | [0-9.]* of [0-9]* |" \
    "$WORK/out/table.md")
  [ "$rows" -eq 5 ] && ok "table.md has the five methods with accuracies" || bad "table.md rows: $rows"
  cells=$(grep -c "^| \(QWEM\|SGNS\) | \(qwem\|word2vec\) | 300 | [0-9.]* | [0-9.]* | [0-9.]* of [0-9]* | 0\.[0-9]* | [0-9.]* |$" \
    "$WORK/out/table.md")
  [ "$cells" -eq 4 ] && ok "table.md has the ablation's four cells, 300 steps each" || bad "ablation rows: $cells"
  for f in plots_mstar/spectrum.png plots_qwem_sgd/singular_values.png plots_linear/snr.png linear.h5 mstar.h5 \
           ppmi.h5 pmi.h5 sgns.h5 qwem_sgd.h5 ablation_mstar.h5 ablation_qwem_word2vec.h5 ablation_sgns_word2vec.h5; do
    [ -s "$WORK/out/$f" ] && ok "$f written" || bad "$f missing"
  done
fi
if bash "$SRC/share/paper/reproduce.sh" "$SRC/share/corpus" "$WORK/out" tiny >"$WORK/log2" 2>&1; then
  bad "an existing output folder was not refused"
elif grep -q "exists: name a new folder" "$WORK/log2"; then
  ok "an existing output folder is refused"
else
  bad "refusal message: $(cat "$WORK/log2")"
fi
exit $FAILED
