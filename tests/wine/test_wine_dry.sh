#!/usr/bin/env bash
# The end-to-end dry pipeline of lleval.exe under Wine (issue 8 (b)): run
# --dry_run, run, smoke, runs list/compare/stop/resume, report, plan; exit
# statuses as on Linux. Wine differs from real Windows in what it cannot
# show here: `runs stop` signals the run through a named event, which Wine
# implements like Windows; a console Ctrl-C (GenerateConsoleCtrlEvent) is not
# tested (Wine's console handling differs).
. "$(dirname "$0")/wine_lib.sh"
write_sample_config eval.yaml

expect_exit 0 "run --dry_run --limit_items 10" -- "$LLEVAL" run --config eval.yaml --dry_run \
	--limit_items 10 --run-id d1
expect_grep "poll 30/30 (100%)" err.txt "progress line reaches 30/30"
[ -f runs/d1/results/scores.json ] && ok "dry_run scores" || not_ok "dry_run wrote no scores.json"

expect_exit 0 "smoke --n 3 --dry-run" -- "$LLEVAL" smoke --n 3 --config examples/quickstart-dry.yaml --dry-run
expect_grep "^ok  *lock released" out.txt "smoke: lock released"
expect_grep "^ok  *parts/sample_closed/t0/part-001/state.json" out.txt \
	"smoke: artifacts relative to the run, one separator"
if grep -q '\\' <(grep -E '^(ok|FAIL) +(parts|results)/' out.txt); then
	not_ok "smoke artifact column has a backslash"
else ok "smoke artifact column uses '/' only"; fi
if grep -q '^FAIL' out.txt; then not_ok "a smoke check failed"; else ok "no smoke check failed"; fi

expect_exit 0 "run a1 (dry engine)" -- "$LLEVAL" run --config eval.yaml --run-id a1 -q
for f in manifest.json results/scores.json results/predictions.csv config.resolved.yaml; do
	[ -f "runs/a1/$f" ] && ok "a1 has $f" || not_ok "a1 lacks $f"
done
expect_exit 0 "run a2" -- "$LLEVAL" run --config eval.yaml --run-id a2 -q
same_scores a1 a2 &&
	ok "two runs score the same" || not_ok "two dry runs differ in scores.json"
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "a1 .* done" out.txt "runs list shows a1 done"
expect_exit 0 "runs list --json" -- "$LLEVAL" runs list --json
python3 -c "
import json; r = {x['run_id']: x for x in json.load(open('out.txt'))}
assert r['a1']['status'] == 'done' and r['a2']['status'] == 'done', r" &&
	ok "runs list --json: both done" || not_ok "runs list --json"
expect_exit 0 "runs compare a1 a2" -- "$LLEVAL" runs compare a1 a2
expect_grep "sample_closed" out.txt "compare shows the datasets"
rm -f runs/a1/report.html runs/a1/report.md
expect_exit 0 "report a1" -- "$LLEVAL" report a1
expect_grep "^runs[/\\]a1[/\\]report.html.\?$" out.txt "report prints the HTML path"
[ -s runs/a1/report.html ] && [ -s runs/a1/report.md ] && ok "report.html and report.md" ||
	not_ok "report files missing: $(ls runs/a1)"

# stop a running run from a second Windows process (a named event), then resume it
LLEVAL_DRY_DELAY_MS=250 "$LLEVAL" run --config eval.yaml --run-id s1 -q >s1.out 2>s1.err &
pid=$!
for _ in $(seq 1 600); do
	grep -qs '"answered": [1-9]' runs/s1/manifest.json && break
	sleep 0.05
done
expect_exit 0 "runs stop s1 --wait" -- "$LLEVAL" runs stop s1 --wait
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] && ok "stopped run exits 130" || not_ok "stopped run exited $rc, wanted 130"
python3 -c "
import json; m = json.load(open('runs/s1/manifest.json'))
assert m['status'] == 'stopped', m['status']
assert 0 < m['requests']['answered'] < m['requests']['total'], m['requests']" &&
	ok "manifest says stopped, partly answered" || not_ok "manifest after stop"
expect_exit 2 "runs stop on a run that is not running" -- "$LLEVAL" runs stop s1
expect_exit 0 "runs resume s1" -- "$LLEVAL" runs resume s1 -q
python3 -c "
import json
m = json.load(open('runs/s1/manifest.json'))
assert m['status'] == 'done', m['status']
ids = [json.loads(l)['custom_id'] for l in open('runs/s1/results/results_combined.jsonl')]
assert len(ids) == len(set(ids)) == m['requests']['total'], (len(ids), m['requests'])" &&
	ok "resumed run is done, every result once" || not_ok "resume"
same_scores a1 s1 &&
	ok "stopped + resumed scores as an uninterrupted run" || not_ok "resumed scores differ"

# plan: a synthetic GGUF written by lleval.exe itself
expect_exit 0 "synth-model" -- "$LLEVAL" synth-model -q --out m.gguf --layers 4 --embd 512 \
	--heads 8 --kv-heads 2 --vocab 8000
expect_exit 0 "plan m.gguf" -- "$LLEVAL" plan m.gguf --ctx 3000 --parallel 2 --vram 16GiB
expect_exit 1 "plan: too small a budget exits 1" -- "$LLEVAL" plan m.gguf --vram 200MiB
expect_exit 0 "plan --json" -- "$LLEVAL" plan m.gguf --ctx 3000 --parallel 5 --json --vram 16GiB
python3 -c "import json; json.load(open('out.txt'))" && ok "plan --json is JSON" || not_ok "plan --json"
expect_exit 2 "plan without a model: usage (2)" -- "$LLEVAL" plan
expect_exit 2 "unknown command: usage (2)" -- "$LLEVAL" bogus
finish
