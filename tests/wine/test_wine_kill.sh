#!/usr/bin/env bash
# Nothing lost, nothing duplicated when the Windows process dies (issue 8 (d)):
# lleval.exe under Wine is killed at random points of a dry run (SIGKILL of the
# wine process, which is the Windows process itself: `wine` execs into it, so
# this is TerminateProcess as far as the exe can tell: no handler runs), then run
# again until it finishes. Every request is journaled exactly once, none journaled
# before a kill is asked again, and predictions and scores equal an uninterrupted
# run's. Wine vs real Windows: Wine's file locks (LockFileEx) and the lock's
# release on process death are wineserver's, not NTFS's; a kill lands between
# WriteFile calls as on Windows, but Wine's page cache is the host's, so a torn
# write at power loss is not what this tests.
. "$(dirname "$0")/wine_lib.sh"
cat >crash.yaml <<'YAML'
engine: dry
model_id: dry
temps: [0.0, 0.7]
max_concurrent_jobs: 2
parts_per_dataset: 3
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML

expect_exit 0 "reference run (never killed)" -- "$LLEVAL" run --config crash.yaml --run-id ref -q

python3 - "$LLEVAL" <<'PY' && ok "killed runs: exactly once, same predictions" || not_ok "killed runs"
import os, random, signal, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["LLEVAL_SOURCE_DIR"], "tests/cli"))
from killcheck import AskedLog, check_exactly_once, journaled, predictions
lleval = sys.argv[1]
rng = random.Random(20261207)
env = dict(os.environ, LLEVAL_DRY_DELAY_MS="150", LLEVAL_DRY_LOG="asked.log")
run_dir = "runs/crash"

kills, before = 0, set()
asked_log = AskedLog("asked.log")
for attempt in range(14):
    p = subprocess.Popen([lleval, "run", "--config", "crash.yaml", "--run-id", "crash", "-q"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if attempt < 10:
        # kill at a random point once it has answered something new (or after 20 s)
        target = rng.uniform(0.0, 0.5)
        t0 = time.monotonic()
        while p.poll() is None and len(journaled(run_dir)) <= len(before) and time.monotonic() - t0 < 20:
            time.sleep(0.02)
        time.sleep(target)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    else:
        p.wait(timeout=180)
    asked = asked_log.since_last()
    again = [a for a in asked if a in before]
    if again:
        sys.exit("FAIL: asked again after being journaled: %s" % again[:5])
    before = journaled(run_dir)
    err = p.stderr.read().decode()
    p.stderr.close()
    if p.returncode >= 0:
        if p.returncode != 0:
            sys.exit("FAIL: run exited %d: %s" % (p.returncode, err))
        break
else:
    sys.exit("FAIL: the run never completed")
if kills < 3:
    sys.exit("FAIL: only %d kills landed; the test did not exercise crashes" % kills)
print("# killed %d times, finished on attempt %d" % (kills, attempt + 1))

check_exactly_once(run_dir, "ref")
if predictions("ref") != predictions("crash"):
    sys.exit("FAIL: predictions differ from the uninterrupted run's")
PY
same_scores ref crash && ok "killed runs: the same scores as the uninterrupted run" ||
	not_ok "killed runs: scores differ"
expect_exit 0 "runs list after the kills" -- "$LLEVAL" runs list --json
python3 -c "
import json; r = {x['run_id']: x for x in json.load(open('out.txt'))}
assert r['crash']['status'] == 'done', r['crash']" && ok "crash run listed done" || not_ok "crash run status"
finish
