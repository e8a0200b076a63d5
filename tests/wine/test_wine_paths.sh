#!/usr/bin/env bash
# Windows paths and files (issue 8 (e)) for lleval.exe under Wine: a config, its
# datasets and the run folder under a folder with a space and a non-ASCII name
# ("Zoë"), passed through argv (quoting) and named in the config with
# backslashes, with forward slashes, and as a drive path (Z:\...: Wine's drive for
# the Unix root; real Windows would use C:\...); CRLF config and dataset files.
# The exe's manifest makes UTF-8 its ANSI code page: Wine 8 honours it (argv and
# the C runtime's narrow calls are UTF-8), as Windows 10 1903+ does.
. "$(dirname "$0")/wine_lib.sh"
dir="my evals/Zoë data"
mkdir -p "$dir/data"
cp examples/data/closed_book.jsonl "$dir/data/closed book.jsonl"
cp examples/data/open_book.json "$dir/data/open_book.json"
# CRLF dataset files
sed 's/$/\r/' examples/data/general_knowledge_test.csv >"$dir/data/gk Zoë.csv"
sed 's/$/\r/' examples/data/closed_book.jsonl >"$dir/data/closed_crlf.jsonl"
win_work="Z:$(pwd | tr / '\\')"

# a CRLF config naming its datasets with backslashes, forward slashes and a drive path
{
	echo "engine: dry"
	echo "model_id: dry-model"
	echo "temps: [0.0]"
	echo "paths: {runs_dir: 'my evals\\Zoë data\\runs'}"
	echo "datasets:"
	echo "  - {name: closed_bs, format: nq_open, path: 'my evals\\Zoë data\\data\\closed book.jsonl'}"
	echo "  - {name: open_fs, format: squad, path: 'my evals/Zoë data/data/open_book.json'}"
	echo "  - {name: mc_crlf, format: mmlu, path: '$win_work\\my evals\\Zoë data\\data\\gk Zoë.csv', split: test}"
	echo "  - {name: closed_crlf, format: nq_open, path: 'my evals/Zoë data/data/closed_crlf.jsonl'}"
} | sed 's/$/\r/' >"$dir/eval Zoë.yaml"

expect_exit 0 "run: config under 'my evals/Zoë data', runs_dir there too" -- \
	"$LLEVAL" run --config "$dir/eval Zoë.yaml" --run-id "r1" --limit_items 5 -q
run="$dir/runs/r1"
[ -s "$run/results/scores.json" ] && ok "scores.json under the non-ASCII folder" ||
	not_ok "no scores.json under $run: $(find "$dir" -maxdepth 3 | head)"
python3 - "$run" <<'PY' && ok "four datasets, 5 items each, none failed" || not_ok "datasets/results"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/results/results_combined.jsonl", encoding="utf-8")]
assert len(lines) == 20 and len({l["custom_id"] for l in lines}) == 20, len(lines)
assert all(l["error"] is None for l in lines), [l["error"] for l in lines if l["error"]]
PY
# every dataset (the CRLF ones too) is scored
python3 - "$run" <<'PY' && ok "all four datasets scored (CRLF ones too)" || not_ok "a dataset is not scored"
import json, sys
s = json.load(open(sys.argv[1] + "/results/scores.json", encoding="utf-8"))
txt = json.dumps(s)
assert "closed_crlf" in txt and "closed_bs" in txt and "mc_crlf" in txt, txt[:300]
PY
expect_exit 0 "config show with a quoted backslash path" -- "$LLEVAL" config show --config "$(echo "$dir/eval Zoë.yaml" | tr / '\\')"
expect_grep "Zoë" out.txt "config show keeps the non-ASCII name"
# the current folder non-ASCII too: runs list reads ./runs there
rc=0
(cd "$dir" && "$LLEVAL" runs list) >out.txt 2>err.txt || rc=$?
[ "$rc" -eq 0 ] && ok "runs list in the non-ASCII folder" || not_ok "runs list there: exit $rc"
expect_grep "r1 " out.txt "runs list finds r1"
expect_exit 0 "smoke under the non-ASCII folder" -- "$LLEVAL" smoke --n 2 --config "$dir/eval Zoë.yaml" --dry-run
if grep -q '^FAIL' out.txt; then not_ok "a smoke check failed"; else ok "smoke checks pass"; fi

# argv quoting: arguments with spaces, quotes, backslashes before quotes and non-ASCII
# reach lleval.exe as given (Wine's command-line building, like CreateProcess's)
for arg in 'a b' 'say "hi"' 'back\slash\' 'tab	x' 'Zoë ünï' 'trail\\' '"'; do
	rc=0
	"$LLEVAL" run --config "$dir/eval Zoë.yaml" --run-id "$arg" -q >out.txt 2>err.txt || rc=$?
	if [ "$rc" -eq 2 ] && grep -qF "invalid run id '$arg'" err.txt; then
		ok "argv: [$arg] arrives intact (echoed in the error)"
	else
		not_ok "argv: [$arg]: exit $rc: $(head -2 err.txt)"
	fi
done
finish
