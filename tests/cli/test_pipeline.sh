#!/usr/bin/env bash
# End to end on the dry engine: every run flag of the guide, the standalone
# steps (prepare, build, parse, score), run ids, locks and the artifacts.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml

# the guide's tiny dry run
expect_exit 0 "run --dry_run --limit_items 10" -- "$LLEVAL" run --config eval.yaml --dry_run --limit_items 10 --run-id r1
run=runs/r1
expect_grep "poll 30/30 (100%) .* req/s .* tok/s  eta .* retries 0  errors 0" err.txt "progress line: done/total, rates, ETA, retries, errors"
expect_grep "sample_closed/t0 10/10  sample_open/t0 10/10  sample_mc/t0 10/10" err.txt "progress line: done/total per trial"
for f in config.resolved.yaml manifest.json batches/build.json results/results_combined.jsonl \
	results/predictions.csv results/scores.json parts/sample_mc/t0/part-001/state.json; do
	[ -f "$run/$f" ] && ok "artifact $f" || not_ok "artifact $f missing"
done
[ ! -e "$run/lock" ] && ok "lock released" || not_ok "lock left behind"
python3 - "$run" <<'PY' && ok "manifest/state/results agree" || not_ok "manifest/state/results disagree"
import json, sys, csv
run = sys.argv[1]
m = json.load(open(run + "/manifest.json"))
assert m["status"] == "done", m["status"]
total = sum(t["requests"]["total"] for t in m["trials"])
assert total == 10 + 10 + 10, total  # limit 10 of 16 / 10 / 10
for t in m["trials"]:
    jc = t["job_counts"]
    assert jc["total"] == jc["done"] == 1, jc
lines = open(run + "/results/results_combined.jsonl").read().splitlines()
assert len(lines) == total
rows = list(csv.DictReader(open(run + "/results/predictions.csv", newline="")))
assert len(rows) == total
assert {r["finish_reason"] for r in rows} >= {"stop", "length"}, "dry engine must truncate some"
s = json.load(open(run + "/manifest.json"))
PY

# on a terminal the progress is one line updated in place (\r), and NO_COLOR is respected
if command -v script >/dev/null; then
	LLEVAL_DRY_DELAY_MS=20 script -qec "$LLEVAL run --config eval.yaml --limit_items 4 --run-id tty" tty.log >/dev/null 2>&1 || true
	grep -q $'\rlleval: poll\|\rpoll' tty.log && ok "terminal: progress updates one line with \\r" || not_ok "terminal: no \\r progress line"
	if grep -q $'\033\[' tty.log; then not_ok "NO_COLOR=1 but escape codes were printed"; else ok "NO_COLOR respected on a terminal"; fi
	env -u NO_COLOR TERM=xterm script -qec "$LLEVAL runs list" color.log >/dev/null 2>&1 || true
	grep -q $'\033\[1m' color.log && ok "terminal without NO_COLOR: bold table header" || not_ok "no color on a terminal"
else
	echo "SKIP: script(1) not found: terminal progress not tested"
fi

# --parts_per_dataset and --max_concurrent_jobs
expect_exit 0 "run --parts_per_dataset 3 --max_concurrent_jobs 2" -- "$LLEVAL" run --config eval.yaml --parts_per_dataset 3 --max_concurrent_jobs 2 --run-id r2 -q
n=$(ls runs/r2/batches/sample_closed/t0/ | wc -l)
[ "$n" -eq 3 ] && ok "3 part files per dataset" || not_ok "expected 3 part files, got $n"
python3 -c "
import json; b = json.load(open('runs/r2/batches/build.json'))
sizes = [p['requests'] for p in b['parts'] if p['dataset'] == 'sample_closed']
assert sizes == [5, 5, 6] or sorted(sizes) == [5, 5, 6], sizes" && ok "parts nearly equal" || not_ok "part sizes"

# --to_step poll stops after poll: results but no predictions
expect_exit 0 "run --to_step poll" -- "$LLEVAL" run --config eval.yaml --to_step poll --run-id r3 -q
[ -f runs/r3/results/results_combined.jsonl ] && [ ! -f runs/r3/results/predictions.csv ] &&
	ok "--to_step poll wrote results, no predictions" || not_ok "--to_step poll artifacts"

# the guide's manual steps: parse and score by hand, then compare with the run
expect_exit 0 "parse --results_jsonl --out_csv" -- "$LLEVAL" parse --results_jsonl runs/r3/results/results_combined.jsonl --out_csv pred.csv
expect_grep "36 requests" out.txt "parse reconciled against the run's batches"
expect_exit 0 "score --pred_csv --prepared_dir --out_dir" -- "$LLEVAL" score --pred_csv pred.csv --prepared_dir data/prepared --out_dir scored
[ -f scored/scores.json ] && ok "score wrote scores.json" || not_ok "score wrote no scores.json"

# parse reconciliation: a missing and a duplicated result -> exit 1 with the ids
head -n 35 runs/r3/results/results_combined.jsonl >partial.jsonl
tail -n 1 partial.jsonl >>partial.jsonl
mkdir -p fake/results && cp partial.jsonl fake/results/results_combined.jsonl && cp -r runs/r3/batches fake/
expect_exit 1 "parse on a mismatched results file" -- "$LLEVAL" parse --results_jsonl fake/results/results_combined.jsonl --out_csv p2.csv
expect_grep "missing custom_ids" out.txt "report names missing custom_ids"
expect_grep "duplicate custom_ids" out.txt "report names duplicate custom_ids"
expect_grep "sample_mc:general_knowledge-test-10" out.txt "report lists the missing id"

# standalone prepare + build, then run --skip_prepare --skip_build
expect_exit 0 "prepare --config" -- "$LLEVAL" prepare --config eval.yaml
expect_exit 0 "build --config --limit_items 2" -- "$LLEVAL" build --config eval.yaml --limit_items 2
expect_exit 0 "run --skip_prepare --skip_build" -- "$LLEVAL" run --config eval.yaml --skip_prepare --skip_build --run-id r4 -q
python3 -c "
import json; m = json.load(open('runs/r4/manifest.json'))
assert m['requests']['total'] == 6, m['requests']" && ok "skip_build used the built batches (6 requests)" || not_ok "skip_build"

# a build that fails on the last dataset leaves no folder of its own behind
cp data/prepared/sample_mc.jsonl mc.keep
python3 -c "
p = 'data/prepared/sample_mc.jsonl'
lines = open(p, 'rb').read().rstrip(b'\n').split(b'\n')
lines[-1] = lines[-1][:-5]
open(p, 'wb').write(b'\n'.join(lines) + b'\n')"
expect_exit 2 "build with a damaged last dataset" -- "$LLEVAL" build --config eval.yaml -o fresh-batches
expect_grep "sample_mc.jsonl:.*truncated" err.txt "names the damaged prepared line"
if [ -z "$(find fresh-batches -mindepth 1 2>/dev/null)" ]; then ok "no empty folders left under the failed build's out dir"; else not_ok "folders left: $(find fresh-batches -mindepth 1 | tr '\n' ' ')"; fi
cp mc.keep data/prepared/sample_mc.jsonl

# bad input: run ids with path tricks, unknown step, unknown flag with a suggestion
expect_exit 2 "run id with ../ refused" -- "$LLEVAL" run --config eval.yaml --run-id ../evil
expect_grep "invalid run id" err.txt "names the invalid run id"
expect_exit 2 "runs resume with a path refused" -- "$LLEVAL" runs resume ../../etc
expect_exit 2 "unknown --to_step" -- "$LLEVAL" run --config eval.yaml --to_step pol
expect_exit 2 "misspelled flag" -- "$LLEVAL" run --config eval.yaml --max_concurent_jobs 2
expect_grep "did you mean '--max-concurrent-jobs'" err.txt "suggests the flag"

# a second lleval on a running run is refused (this shell holds its lock: flock(1), as lleval's)
mkdir -p runs/r5 && exec 9>runs/r5/lock && flock -n 9 && echo $$ >&9
expect_exit 2 "second process on a locked run refused" -- "$LLEVAL" run --config eval.yaml --run-id r5
expect_grep "is being run by process $$" err.txt "names the pid holding the lock"
exec 9>&-
rm -rf runs/r5

# runs list
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "r1 " out.txt "runs list shows r1"
expect_grep "done" out.txt "runs list shows status"
expect_exit 0 "runs list --json" -- "$LLEVAL" runs list --json
python3 -c "import json; d = json.load(open('out.txt')); assert any(r['run_id'] == 'r2' for r in d)" &&
	ok "runs list --json parses" || not_ok "runs list --json"

# the guide's orchestration smoke test, with the default config location
mkdir -p config && cp eval.yaml config/eval_config.yaml
expect_exit 0 "smoke --n 3 --prompt_set operational_only --keep" -- "$LLEVAL" smoke --n 3 --prompt_set operational_only --keep
expect_grep "all smoke checks passed" out.txt "every smoke check passed"
expect_grep "manifest job_counts" out.txt "smoke checks the manifest"
kept=$(sed -n 's/^kept: //p' out.txt)
[ -n "$kept" ] && [ -f "$kept/results/scores.json" ] && ok "--keep kept the smoke run" || not_ok "--keep: '$kept'"
grep -q ':operational:t0:' "$kept/results/predictions.csv" && ok "smoke used the operational_only prompt set" || not_ok "prompt set"
before=$(ls -a runs | grep -c '^\.smoke-' || true)
expect_exit 0 "smoke without --keep" -- "$LLEVAL" smoke --n 2
after=$(ls -a runs | grep -c '^\.smoke-' || true)
[ "$before" = "$after" ] && ok "smoke without --keep deleted its run" || not_ok "smoke left $after dirs (was $before)"
# a dataset that is not there is the config's error, named before any run is made
cat >smoke-missing.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0]
datasets:
  - {name: gone, format: nq_open, path: no/such/file.jsonl}
YAML
expect_exit 2 "smoke on a dataset that is not there" -- "$LLEVAL" smoke --n 2 --config smoke-missing.yaml
expect_grep "smoke-missing.yaml:5:41: dataset 'gone': path 'no/such/file.jsonl' does not exist" err.txt \
	"smoke names the config's file:line of the missing dataset"
# a smoke run whose pipeline fails: the missing artifacts say so, never a count of -1
printf 'not json\n' >broken.jsonl
sed 's|no/such/file.jsonl|broken.jsonl|' smoke-missing.yaml >smoke-broken.yaml
expect_exit 2 "smoke on a dataset that cannot be read fails (the pipeline's error)" -- \
	"$LLEVAL" smoke --n 2 --config smoke-broken.yaml
expect_grep "results_combined.jsonl  *missing or unreadable" out.txt "smoke: a missing combined file is named missing"
if grep -qE -- ' -[0-9]+ (lines|rows)' out.txt; then not_ok "smoke printed a negative count"; else ok "smoke prints no negative count"; fi
rm -rf config

# every command has --help
for c in run prepare build parse score smoke runs config doctor gguf synth-model; do
	expect_exit 0 "$c --help" -- "$LLEVAL" $c --help
done
finish
