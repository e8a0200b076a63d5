#!/usr/bin/env bash
# Run management across processes: runs stop / resume / list / compare.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml

# --- stop a running run from another process, then resume it exactly once
export LLEVAL_DRY_DELAY_MS=250 # long enough that a loaded machine still stops it midway
"$LLEVAL" run --config eval.yaml --run-id s1 -q >s1.out 2>s1.err &
pid=$!
for _ in $(seq 1 200); do
	if python3 -c "
import json,sys; m=json.load(open('runs/s1/manifest.json')); sys.exit(0 if m['requests']['answered'] > 0 else 1)" 2>/dev/null; then break; fi
	sleep 0.05
done
expect_exit 0 "runs stop s1 --wait" -- "$LLEVAL" runs stop s1 --wait
expect_grep "asked run s1" out.txt "stop names the run"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] && ok "stopped run exits 130" || not_ok "stopped run exited $rc, wanted 130"
python3 -c "
import json; m=json.load(open('runs/s1/manifest.json'))
assert m['status'] == 'stopped', m['status']
assert 0 < m['requests']['answered'] < m['requests']['total'], m['requests']" &&
	ok "manifest says stopped, partly answered" || not_ok "manifest after stop"
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "s1 .* stopped" out.txt "runs list shows the stopped run"
expect_exit 2 "runs stop on a run that is not running" -- "$LLEVAL" runs stop s1
expect_grep "is not running" err.txt "says it is not running"
unset LLEVAL_DRY_DELAY_MS
expect_exit 0 "runs resume s1" -- "$LLEVAL" runs resume s1 -q
python3 -c "
import json, glob
m = json.load(open('runs/s1/manifest.json'))
assert m['status'] == 'done', m['status']
ids = [json.loads(l)['custom_id'] for l in open('runs/s1/results/results_combined.jsonl')]
assert len(ids) == len(set(ids)) == m['requests']['total'], (len(ids), m['requests'])" &&
	ok "resumed run is done, every result exactly once" || not_ok "resume"

# --- a run killed with -9 shows as stopped (its process is gone), and runs again to the end
LLEVAL_DRY_DELAY_MS=60 "$LLEVAL" run --config eval.yaml --run-id k1 -q >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
	[ -f runs/k1/manifest.json ] && grep -q '"answered": [1-9]' runs/k1/manifest.json && break
	sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
expect_exit 0 "runs list after kill -9" -- "$LLEVAL" runs list --json
python3 -c "
import json; runs = {r['run_id']: r for r in json.load(open('out.txt'))}
assert runs['k1']['status'] == 'stopped', runs['k1']" && ok "killed run listed as stopped" || not_ok "killed run status"
expect_exit 0 "run --resume k1" -- "$LLEVAL" run --resume k1 -q

# --- Ctrl-C: stop sending, settle what is in flight, exit 130, resumable
LLEVAL_DRY_DELAY_MS=60 "$LLEVAL" run --config eval.yaml --run-id int1 -q >/dev/null 2>int.err &
pid=$!
for _ in $(seq 1 200); do
	[ -f runs/int1/manifest.json ] && grep -q '"answered": [1-9]' runs/int1/manifest.json && break
	sleep 0.05
done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
[ "$rc" -eq 130 ] && ok "SIGINT exits 130" || not_ok "SIGINT exit $rc"
expect_grep "resume with" int.err "says how to resume"
python3 -c "
import json; m = json.load(open('runs/int1/manifest.json')); assert m['status'] == 'stopped', m['status']" &&
	ok "interrupted run is stopped" || not_ok "interrupted run status"
expect_exit 0 "resume after SIGINT" -- "$LLEVAL" runs resume int1 -q

# --- compare two "models" on the same items
expect_exit 0 "run model A" -- "$LLEVAL" run --config eval.yaml --run-id ca -q
expect_exit 0 "run model B" -- "$LLEVAL" run --config eval.yaml --model other-dry --run-id cb -q
expect_exit 0 "runs compare ca cb" -- "$LLEVAL" runs compare ca cb
expect_grep "36 items paired" out.txt "compare pairs all items"
expect_grep "McNemar p" out.txt "compare shows McNemar's test"
expect_grep "items flipped" out.txt "compare lists flipped items"
expect_exit 0 "runs compare --json" -- "$LLEVAL" runs compare ca cb --json
python3 - <<'PY' && ok "compare --json is consistent" || not_ok "compare --json"
import json
d = json.load(open("out.txt"))
assert d["paired_items"] == 36 and d["only_in_a"] == 0
flips = sum(g["a_only_right"] + g["b_only_right"] for g in d["groups"])
assert flips == len(d["flips"]) > 0, (flips, len(d["flips"]))
for g in d["groups"]:
    assert 0 <= g["mcnemar_p"] <= 1
    assert g["diff"]["lo"] <= g["diff"]["delta"] <= g["diff"]["hi"]
PY
expect_exit 0 "run with fewer items" -- "$LLEVAL" run --config eval.yaml --limit_items 4 --run-id cc -q
expect_exit 0 "compare different item sets" -- "$LLEVAL" runs compare ca cc
expect_grep "the item sets differ: 24 only in A, 0 only in B" out.txt "compare notes differing item sets"
expect_exit 2 "compare with a bad run id" -- "$LLEVAL" runs compare ca ../x
expect_exit 2 "compare with an unknown run" -- "$LLEVAL" runs compare ca nosuch

# --- a run that stopped because the engine was unreachable is listed with its cause
sed -e 's/^engine: dry/engine: openai/' -e 's|^model_id: .*|model_id: m\nbase_url: http://127.0.0.1:9/v1|' eval.yaml >unreach.yaml
grep -q "base_url: http://127.0.0.1:9/v1" unreach.yaml || not_ok "unreach.yaml was not written as meant"
expect_exit 3 "run against a closed port" -- "$LLEVAL" run --config unreach.yaml --run-id u1 -q
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "why runs ended early" out.txt "runs list has a section for causes"
expect_grep "u1: cannot reach the OpenAI-compatible server at http://127.0.0.1:9/v1" out.txt \
	"runs list names the stopped run's cause"
! grep -q "^  ca: " out.txt && ok "a finished run has no cause line" || not_ok "a finished run has a cause line"
expect_exit 0 "runs list --json" -- "$LLEVAL" runs list --json
python3 -c "
import json; r = {x['run_id']: x for x in json.load(open('out.txt'))}
assert 'cannot reach' in r['u1']['cause'], r['u1']
assert r['ca']['cause'] is None, r['ca']" && ok "--json has each run's cause (null when none)" ||
	not_ok "runs list --json cause"
finish
