#!/usr/bin/env bash
# Accuracy of `lleval plan` against llama.cpp itself: tests/cli/plan_accuracy.py loads
# synthesized models (4 shapes; f16, q8_0, q4_k_m; 3 contexts x 2 slot counts, plus KV
# types and flash attention off) and the shared tiny model in the real llama-server, reads
# the buffer sizes it logs and compares them with `plan --device cpu --json`: weights and
# KV cache within 1 %, the total within 5 %. Skips cleanly without llama-server or python3.
set -euo pipefail
: "${LLEVAL:?set LLEVAL to the lleval binary}" "${LLEVAL_SOURCE_DIR:?set LLEVAL_SOURCE_DIR}"
if ! command -v python3 >/dev/null 2>&1; then
	echo "skip - python3 is not installed"
	exit 0
fi
rc=0
python3 "$LLEVAL_SOURCE_DIR/tests/cli/plan_accuracy.py" --lleval "$LLEVAL" \
	--shared "${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}" || rc=$?
if [ "$rc" -eq 77 ]; then
	exit 0 # skipped: the script said why
fi
exit "$rc"
