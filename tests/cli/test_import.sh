#!/usr/bin/env bash
# `lleval import RUN FILE`: a batch service's results (OpenAI batch output
# format) go into a run built with --to_step build, out of order, with a
# duplicate line, an unknown custom_id and a failed request; `runs resume`
# then scores exactly the file's answers (every custom_id once), without an
# engine when the file answered everything. A second import writes nothing
# (all duplicates); a malformed line is exit 2 naming FILE:LINE and writes
# nothing; a run being run is refused.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml
# the same datasets on an OpenAI-compatible server that is not there: a run
# answered wholly by import needs no engine
sed -e 's/^engine: dry/engine: openai/' -e 's|^model_id: .*|model_id: gpt-x\nbase_url: http://127.0.0.1:9/v1|' \
	eval.yaml >offline.yaml

# gen.py RUN OUT [--partial]: an OpenAI batch output file for RUN's requests:
# every third answer wrong, the second request failed, in reverse order, the
# first line repeated at the end and a line of an unknown custom_id; with
# --partial the last request of each part is left out
cat >gen.py <<'PY'
import glob, json, sys
run, out = sys.argv[1], sys.argv[2]
partial = "--partial" in sys.argv
gold = {}
for f in glob.glob("data/prepared/*.jsonl"):
    for l in open(f):
        it = json.loads(l)
        gold[(it["dataset"], it["id"])] = it["answers"][0]
ids = []
for f in sorted(glob.glob(run + "/batches/*/t*/part-*.jsonl")):
    part = [json.loads(l)["custom_id"] for l in open(f) if l.strip()]
    ids += part[:-1] if partial else part
lines = []
for n, cid in enumerate(ids):
    ds, item = cid.split(":")[:2]
    ans = gold[(ds, item)] if n % 3 else "wrong answer"
    body = {"id": "chatcmpl-%d" % n, "object": "chat.completion", "model": "gpt-x",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": ans},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10 + n, "completion_tokens": 2, "total_tokens": 12 + n}}
    lines.append({"id": "batch_req_%d" % n, "custom_id": cid,
                  "response": {"status_code": 200, "request_id": "req_%d" % n, "body": body},
                  "error": None})
lines[1] = {"id": "batch_req_e", "custom_id": ids[1], "response": None,
            "error": {"code": "rate_limit_exceeded", "message": "too many tokens"}}
lines.reverse()
lines.append(lines[0])
lines.append({"id": "batch_req_x", "custom_id": "nope:1:direct:t0:s0", "response": None,
              "error": {"code": "x", "message": "y"}})
with open(out, "w") as f:
    for l in lines:
        f.write(json.dumps(l) + "\n")
PY

# check.py RUN FILE: every request answered exactly once, as the file says,
# and the scores are those of the file's answers
cat >check.py <<'PY'
import csv, glob, json, sys
run, path = sys.argv[1], sys.argv[2]
gold = {}
for f in glob.glob("data/prepared/*.jsonl"):
    for l in open(f):
        it = json.loads(l)
        gold[(it["dataset"], it["id"])] = it["answers"]
want = {}
for l in open(path):
    o = json.loads(l)
    want.setdefault(o["custom_id"], o)
ids = []
for f in glob.glob(run + "/batches/*/t*/part-*.jsonl"):
    ids += [json.loads(l)["custom_id"] for l in open(f) if l.strip()]
got = [json.loads(l) for f in glob.glob(run + "/results/parts/*/t*/part-*.jsonl") for l in open(f)]
got_ids = [g["custom_id"] for g in got]
assert sorted(got_ids) == sorted(ids), "every request answered exactly once"
for g in got:
    w = want.get(g["custom_id"])
    if w is None:
        continue  # asked by the resume (a partial import)
    if w["error"]:
        assert g["error"]["code"] == w["error"]["code"], g
        assert g["error"]["message"] == w["error"]["message"], g
    else:
        assert g["error"] is None, g
        assert g["response"]["body"]["choices"][0]["message"]["content"] == \
            w["response"]["body"]["choices"][0]["message"]["content"], g
        assert g["lleval"]["prompt_tokens"] == w["response"]["body"]["usage"]["prompt_tokens"]
rows = list(csv.DictReader(open(run + "/results/predictions.csv", newline="")))
assert len(rows) == len(ids), len(rows)
scores = json.load(open(run + "/results/scores.json"))
for grp in scores["groups"]:
    if not grp["overall"]:
        continue
    ds = grp["dataset"]
    mine = [r for r in rows if r["dataset"] == ds]
    right = sum(1 for r in mine if r["status"] == "ok" and r["prediction"] in gold[(ds, r["item_id"])])
    metric = grp["accuracy"] if grp["accuracy"] else grp["exact_match"]
    assert abs(metric["value"] - 100.0 * right / len(mine)) < 1e-6, (ds, metric, right, len(mine))
m = json.load(open(run + "/manifest.json"))
assert m["requests"]["answered"] == len(ids), m["requests"]
PY

jsum() { cat runs/"$1"/results/parts/*/t*/*.jsonl 2>/dev/null | md5sum; }

# a run answered wholly by the file, on an engine that is not there
expect_exit 0 "build run r1" -- "$LLEVAL" run --config offline.yaml --limit_items 4 --run-id r1 --to_step build -q
python3 gen.py runs/r1 out.jsonl
expect_exit 1 "import: an unknown custom_id is exit 1" -- "$LLEVAL" import r1 out.jsonl
expect_grep "^imported 12 (11 ok, 1 failed), duplicates 1, unknown 1$" out.txt "summary counts"
expect_grep "unknown: nope:1:direct:t0:s0" out.txt "names an unknown custom_id"
expect_grep "12 of 12 requests answered" out.txt "says the run is complete"
python3 -c "
import json; m = json.load(open('runs/r1/manifest.json'))
assert m['requests']['answered'] == 12 and m['requests']['errors'] == 1, m['requests']
s = json.load(open('runs/r1/parts/sample_mc/t0/part-001/state.json'))
assert s['status'] == 'done' and s['answered'] == 4, s" && ok "manifest and state.json count the import" ||
	not_ok "manifest/state.json do not reflect the import"
before=$(jsum r1)
expect_exit 1 "import again" -- "$LLEVAL" import r1 out.jsonl --json
python3 -c "
import json; j = json.load(open('out.txt'))
assert j['imported'] == 0 and j['duplicates'] == 13 and j['unknown'] == 1 and j['complete'], j" &&
	ok "import again: all duplicates (--json)" || not_ok "import again: $(cat out.txt)"
[ "$(jsum r1)" = "$before" ] && ok "import again wrote nothing" || not_ok "import again changed the journals"
# one request failed in the file: resume finishes with exit 1, without an engine
expect_exit 1 "resume a run answered by import (no engine there)" -- "$LLEVAL" runs resume r1
expect_grep "no engine needed" err.txt "resume says no engine is needed"
python3 check.py runs/r1 out.jsonl && ok "r1: every custom_id once, scores of the file's answers" ||
	not_ok "r1: results or scores differ from the file"

# round trip: a run's own results_combined.jsonl is OpenAI batch output (plus an lleval object):
# imported into a run built the same way, it gives the same scores
expect_exit 0 "build run r5" -- "$LLEVAL" run --config offline.yaml --limit_items 4 --run-id r5 --to_step build -q
expect_exit 0 "import r1's results into r5" -- "$LLEVAL" import r5 runs/r1/results/results_combined.jsonl
expect_grep "^imported 12 (11 ok, 1 failed), duplicates 0, unknown 0$" out.txt "round trip summary"
expect_exit 1 "resume r5" -- "$LLEVAL" runs resume r5 -q
python3 -c "
import json
a, b = (json.load(open('runs/%s/results/scores.json' % r))['groups'] for r in ('r1', 'r5'))
assert a == b, (a, b)" && ok "round trip: the same scores" || not_ok "round trip: the scores differ"

# a partial import on the dry engine: resume asks only what is missing
expect_exit 0 "build run r2" -- "$LLEVAL" run --config eval.yaml --limit_items 4 --run-id r2 --to_step build -q
python3 gen.py runs/r2 part.jsonl --partial
grep -v nope part.jsonl >part2.jsonl
expect_exit 0 "import a partial file" -- "$LLEVAL" import r2 part2.jsonl
expect_grep "^imported 9 (8 ok, 1 failed), duplicates 1, unknown 0$" out.txt "partial summary"
expect_grep "asks the 3 left" out.txt "says what resume asks"
expect_exit 1 "resume asks the rest" -- "$LLEVAL" runs resume r2 -q
python3 check.py runs/r2 part2.jsonl && ok "r2: every custom_id once, imported answers kept" ||
	not_ok "r2: results differ"

# malformed lines: exit 2 naming FILE:LINE, nothing written
expect_exit 0 "build run r3" -- "$LLEVAL" run --config eval.yaml --limit_items 2 --run-id r3 --to_step build -q
python3 gen.py runs/r3 good.jsonl
head -n 2 good.jsonl >bad.jsonl
python3 -c "
import json; o = json.loads(open('good.jsonl').readlines()[2]); o['response']['status_code'] = 'ok'
print(json.dumps(o))" >>bad.jsonl
expect_exit 2 "a status_code that is not a number" -- "$LLEVAL" import r3 bad.jsonl
expect_grep "bad.jsonl:3: 'response.status_code'" err.txt "names FILE:LINE and the field"
[ -z "$(cat runs/r3/results/parts/*/t*/*.jsonl 2>/dev/null)" ] && ok "nothing written" ||
	not_ok "a malformed file wrote results"
{ head -n 1 good.jsonl; echo '{"custom_id": "x", "response": {"status_code": 200'; } >bad2.jsonl
expect_exit 2 "a line that is not JSON" -- "$LLEVAL" import r3 bad2.jsonl
expect_grep "bad2.jsonl:2: not JSON" err.txt "names the line that is not JSON"
{ head -n 1 good.jsonl; echo '{"response": null, "error": {"code": "x"}}'; } >bad3.jsonl
expect_exit 2 "a line without a custom_id" -- "$LLEVAL" import r3 bad3.jsonl
expect_grep "bad3.jsonl:2: no custom_id" err.txt "names the line without a custom_id"
[ -z "$(cat runs/r3/results/parts/*/t*/*.jsonl 2>/dev/null)" ] && ok "still nothing written" ||
	not_ok "a malformed file wrote results"
expect_exit 2 "a bad run id" -- "$LLEVAL" import ../r3 good.jsonl
expect_exit 2 "a run that does not exist" -- "$LLEVAL" import nope good.jsonl
expect_grep "no run 'nope'" err.txt "names the missing run"

# a run being run is refused (its lock)
LLEVAL_DRY_DELAY_MS=1000 "$LLEVAL" run --config eval.yaml --limit_items 4 --max_concurrent_jobs 1 \
	--run-id r4 -q >/dev/null 2>&1 &
runner=$!
for _ in $(seq 300); do
	[ -s runs/r4/lock ] && [ -f runs/r4/batches/build.json ] && break
	sleep 0.1
done
expect_exit 2 "import into a running run" -- "$LLEVAL" import r4 good.jsonl
expect_grep "is being run by process" err.txt "names the run's process"
"$LLEVAL" runs stop r4 --wait >/dev/null 2>&1 || true
wait "$runner" || true

finish
