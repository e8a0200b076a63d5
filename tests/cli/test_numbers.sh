#!/usr/bin/env bash
# No number lies (issue 9, point 8): durations, counts, missing items, failed
# groups, the headline and speeds, each checked against what really happened.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml

# --- a. a resume does not count the idle time between sessions; resuming a finished run changes nothing
export LLEVAL_DRY_DELAY_MS=20
expect_exit 0 "run a1" -- "$LLEVAL" run --config eval.yaml --run-id a1 -q
unset LLEVAL_DRY_DELAY_MS
expect_exit 0 "runs list --json before the resume" -- "$LLEVAL" runs list --json
cp out.txt list1.json
cp runs/a1/manifest.json manifest1.json
sleep 3
expect_exit 0 "runs resume a1 (finished)" -- "$LLEVAL" runs resume a1 -q
expect_exit 0 "runs list --json after the resume" -- "$LLEVAL" runs list --json
python3 - <<'PY' && ok "resume of a finished run keeps duration and trial speeds" || not_ok "durations after a resume"
import json
before = {r['run_id']: r for r in json.load(open('list1.json'))}['a1']
after = {r['run_id']: r for r in json.load(open('out.txt'))}['a1']
assert 'models' not in after, after  # a run of one model: "model" only
assert abs(after['duration_s'] - before['duration_s']) < 0.5, (before['duration_s'], after['duration_s'])
m1, m2 = json.load(open('manifest1.json')), json.load(open('runs/a1/manifest.json'))
for t1, t2 in zip(m1['trials'], m2['trials']):
    assert abs(t1['elapsed_s'] - t2['elapsed_s']) < 0.01, (t1['trial'], t1['elapsed_s'], t2['elapsed_s'])
    assert t2['elapsed_s'] < 3, t2
PY
expect_grep "duration" runs/a1/report.md "report has a duration"
python3 - <<'PY' && ok "report duration is the active time" || not_ok "report duration"
import re
md = open('runs/a1/report.md').read()
m = re.search(r'duration ([0-9.]+) ?s\b', md)
assert m and float(m.group(1)) < 3, md[:400]
PY

# --- a. a stopped run resumed later: the pause is not counted
LLEVAL_DRY_DELAY_MS=60 "$LLEVAL" run --config eval.yaml --run-id a2 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	[ -f runs/a2/manifest.json ] && grep -q '"answered": [1-9]' runs/a2/manifest.json && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
sleep 3
expect_exit 0 "runs resume a2 after kill -9" -- "$LLEVAL" runs resume a2 -q
python3 - <<'PY' && ok "the pause between kill and resume is not counted" || not_ok "pause counted"
import json
m = json.load(open('runs/a2/manifest.json'))
assert m['active_s'] < 3, m['active_s']
for t in m['trials']:
    assert t['elapsed_s'] < 3, t
PY

# --- e. the headline never averages exact match with accuracy: each apart
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "a1 .* EM [0-9.]*, acc [0-9.]*" out.txt "runs list shows EM and accuracy apart"
expect_exit 0 "runs list --json" -- "$LLEVAL" runs list --json
python3 - <<'PY' && ok "runs list --json: headlines per metric" || not_ok "headlines per metric"
import json
run = {r['run_id']: r for r in json.load(open('out.txt'))}['a1']
s = json.load(open('runs/a1/results/scores.json'))
def mean(metric):
    gs = [g for g in s['groups'] if not g['overall'] and g['n'] > 0 and g.get(metric)]
    return sum(g[metric]['value'] * g['n'] for g in gs) / sum(g['n'] for g in gs)
heads = {h['metric']: h['value'] for h in run['headlines']}
assert abs(heads['EM'] - mean('exact_match')) < 1e-6, (heads, mean('exact_match'))
assert abs(heads['acc'] - mean('accuracy')) < 1e-6, (heads, mean('accuracy'))
assert run['headline']['metric'] == 'EM', run['headline']
PY
grep -q "EM/acc" runs/a1/report.md && not_ok "report mixes EM and accuracy" || ok "report has no EM/acc mix"

# --- c. a --limit_items run counts missing only among the items it asked
expect_exit 0 "run --limit_items 2" -- "$LLEVAL" run --config eval.yaml --run-id c1 --limit_items 2
if grep -q "missing" out.txt err.txt; then not_ok "limited run reports missing items it never asked"; grep missing out.txt err.txt | sed 's/^/    /'; else ok "limited run: no missing items"; fi
python3 - <<'PY' && ok "scores.json: nothing missing among the asked items" || not_ok "missing in scores.json"
import json
s = json.load(open('runs/c1/results/scores.json'))
assert s['totals']['missing'] == 0, s['totals']
assert s['totals']['scored'] == 6, s['totals']
PY
# lleval score on the file alone keeps its documented behaviour: every gold item counts
expect_exit 0 "score the limited predictions alone" -- "$LLEVAL" score --pred-csv runs/c1/results/predictions.csv --prepared-dir data/prepared --out-dir alone
expect_grep "missing: [1-9][0-9]* gold items have no prediction" out.txt "standalone score counts every gold item"

# --- b. after kill -9, runs list shows what the journals hold, not the manifest's last flush
LLEVAL_DRY_DELAY_MS=60 "$LLEVAL" run --config eval.yaml --run-id b1 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	[ -f runs/b1/manifest.json ] && grep -q '"answered": [1-9]' runs/b1/manifest.json && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
# the manifest as a flush before the last answers left it: behind the journals
python3 - <<'PY'
import json
m = json.load(open('runs/b1/manifest.json'))
assert m['status'] == 'running', m['status']
m['requests']['answered'] = 0
m['requests']['errors'] = 0
json.dump(m, open('runs/b1/manifest.json', 'w'))
PY
expect_exit 0 "runs list --json after kill -9" -- "$LLEVAL" runs list --json
python3 - <<'PY' && ok "killed run's counts are the journals'" || not_ok "stale counts after kill -9"
import json, glob
run = {r['run_id']: r for r in json.load(open('out.txt'))}['b1']
lines = 0
for p in glob.glob('runs/b1/results/parts/*/*/part-*.jsonl'):
    data = open(p, 'rb').read()
    lines += data.count(b'\n')
assert run['status'] == 'stopped', run
assert lines > 0 and run['answered'] == lines, (run['answered'], lines)
PY
expect_exit 0 "runs list after kill -9" -- "$LLEVAL" runs list
expect_exit 0 "runs resume b1" -- "$LLEVAL" runs resume b1 -q

finish
