#!/usr/bin/env bash
# Nothing lost when anything crashes: kill -9 a run at many random points,
# run it again each time, and check exactly-once results and the same final
# predictions and scores as an uninterrupted run. Also checks that a request
# whose result was journaled before a kill is never asked again.
set -euo pipefail
: "${LLEVAL:?set LLEVAL to the lleval binary}" "${LLEVAL_SOURCE_DIR:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp -r "$LLEVAL_SOURCE_DIR/examples" .
cat >crash.yaml <<'YAML'
engine: dry
model_id: dry
temps: [0.0, 0.7]
max_concurrent_jobs: 4
parts_per_dataset: 3
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML

"$LLEVAL" run --config crash.yaml --run-id ref -q >ref.out

python3 - "$LLEVAL" <<'PY'
import json, os, random, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["LLEVAL_SOURCE_DIR"], "tests/cli"))
from killcheck import AskedLog, check_exactly_once, journaled, predictions
lleval = sys.argv[1]
rng = random.Random(20261126)
env = dict(os.environ, LLEVAL_DRY_DELAY_MS="40", LLEVAL_DRY_LOG=os.path.abspath("asked.log"))
run_dir = "runs/crash"

kills = 0
asked_log = AskedLog("asked.log")
before = set()
for attempt in range(60):
    p = subprocess.Popen([lleval, "run", "--config", "crash.yaml", "--run-id", "crash", "-q"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    delay = rng.uniform(0.0, 0.25) if attempt < 40 else None
    try:
        p.wait(timeout=delay) if delay is not None else p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
    asked = asked_log.since_last()
    again = [a for a in asked if a in before]
    if again:
        sys.exit("FAIL: asked again after being journaled: %s" % again[:5])
    before = journaled(run_dir)
    if p.returncode is not None and p.returncode >= 0:
        err = p.stderr.read().decode()
        if p.returncode != 0:
            sys.exit("FAIL: run exited %d: %s" % (p.returncode, err))
        break
    p.stderr.close()
else:
    sys.exit("FAIL: the run never completed")
if kills < 8:
    sys.exit("FAIL: only %d kills landed; the test did not exercise crashes" % kills)
print("killed %d times" % kills)

ref, crash = predictions("ref"), predictions("crash")
if ref != crash:
    sys.exit("FAIL: predictions differ: %d vs %d rows" % (len(ref), len(crash)))
check_exactly_once(run_dir, "ref")

def metrics(run):
    """scores.json without timing fields (latency and tokens/s differ run to run)"""
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items()
                    if not any(s in k for s in ("latency", "tps", "tok_s", "tokens_per", "time", "_at", "elapsed"))
                    and not (isinstance(v, str) and "runs/" in v)}  # paths name the run
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    with open("runs/%s/results/scores.json" % run) as f:
        return strip(json.load(f))
if os.path.exists("runs/ref/results/scores.json"):
    if metrics("ref") != metrics("crash"):
        sys.exit("FAIL: scores differ between the uninterrupted and the crashed run")
else:
    sys.exit("FAIL: the reference run wrote no scores.json")
m = json.load(open(run_dir + "/manifest.json"))
assert m["status"] == "done", m["status"]
print("ok: %d results exactly once, predictions and scores identical" % len(ref))
PY
