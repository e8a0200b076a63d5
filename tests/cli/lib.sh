# Helpers for the end-to-end tests (sourced). Each test runs in a fresh temp dir.
set -euo pipefail
: "${LLEVAL:?set LLEVAL to the lleval binary}" "${LLEVAL_SOURCE_DIR:?set LLEVAL_SOURCE_DIR}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$LLEVAL_SOURCE_DIR/examples" .
fails=0
passes=0

ok() { passes=$((passes + 1)); echo "ok - $*"; }
not_ok() { fails=$((fails + 1)); echo "not ok - $*"; }

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
	local want=$1 what=$2
	shift 3
	local got=0
	"$@" >out.txt 2>err.txt || got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$what (exit $got)"
	else
		not_ok "$what: exit $got, wanted $want"
		sed 's/^/    stdout: /' out.txt | head -20
		sed 's/^/    stderr: /' err.txt | head -20
	fi
}

# fake_port OUT_FILE PID: waits until the fake server started as PID writes its
# "PORT N" line to OUT_FILE and prints N. Waits on that condition, not a fixed
# time: up to 120 s (a loaded 2-core machine can take many seconds to start
# python), and stops at once when the process has died. Prints nothing when no
# port came, so the caller can say why (its stderr). Remove OUT_FILE before
# starting the fake: the shell empties it only when the background job starts,
# so a file left by an earlier fake could give that fake's port.
fake_port() {
	local out=$1 pid=$2
	for _ in $(seq 1 1200); do
		grep -q '^PORT ' "$out" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" | head -n 1
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
	if grep -q -- "$1" "$2"; then ok "$3"; else
		not_ok "$3: '$1' not in $2"
		sed 's/^/    /' "$2" | head -20
	fi
}

write_sample_config() {
	cat >"${1:-eval.yaml}" <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
}

finish() {
	echo "$passes passed, $fails failed"
	[ "$fails" -eq 0 ]
}
