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
import csv, glob, json, os, random, signal, subprocess, sys, time
lleval = sys.argv[1]
rng = random.Random(20261207)
env = dict(os.environ, LLEVAL_DRY_DELAY_MS="150", LLEVAL_DRY_LOG="asked.log")
run_dir = "runs/crash"

def journaled():
    ids = set()
    for path in glob.glob(run_dir + "/results/parts/*/*/*.jsonl"):
        with open(path, "rb") as f:
            for line in f.read().split(b"\n"):
                try:
                    ids.add(json.loads(line)["custom_id"])
                except Exception:
                    pass  # a torn last line is repaired on resume
    return ids

def asked_since(offset):
    if not os.path.exists("asked.log"):
        return [], 0
    with open("asked.log", "rb") as f:
        f.seek(offset)
        data = f.read()
    return [l.strip() for l in data.decode().split("\n") if l.strip()], offset + len(data)

kills, offset, before = 0, 0, set()
for attempt in range(14):
    p = subprocess.Popen([lleval, "run", "--config", "crash.yaml", "--run-id", "crash", "-q"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if attempt < 10:
        # kill at a random point once it has answered something new (or after 20 s)
        target = rng.uniform(0.0, 0.5)
        t0 = time.monotonic()
        while p.poll() is None and len(journaled()) <= len(before) and time.monotonic() - t0 < 20:
            time.sleep(0.02)
        time.sleep(target)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
    else:
        p.wait(timeout=180)
    asked, offset = asked_since(offset)
    again = [a for a in asked if a in before]
    if again:
        sys.exit("FAIL: asked again after being journaled: %s" % again[:5])
    before = journaled()
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

for path in glob.glob(run_dir + "/results/parts/*/*/*.jsonl"):
    ids = [json.loads(l)["custom_id"] for l in open(path, "rb").read().split(b"\n") if l.strip()]
    assert len(ids) == len(set(ids)), path + " has a result twice"
ref = [json.loads(l)["custom_id"] for l in open("runs/ref/results/results_combined.jsonl")]
combined = [json.loads(l)["custom_id"] for l in open(run_dir + "/results/results_combined.jsonl")]
assert len(combined) == len(set(combined)) == len(ref), "combined results are not exactly once"

def rows(run):
    with open("runs/%s/results/predictions.csv" % run, newline="") as f:
        keep = ("custom_id", "status", "finish_reason", "prediction")
        return sorted(tuple(r[k] for k in keep) for r in csv.DictReader(f))
if rows("ref") != rows("crash"):
    sys.exit("FAIL: predictions differ from the uninterrupted run's")
PY
same_scores ref crash && ok "killed runs: the same scores as the uninterrupted run" ||
	not_ok "killed runs: scores differ"
expect_exit 0 "runs list after the kills" -- "$LLEVAL" runs list --json
python3 -c "
import json; r = {x['run_id']: x for x in json.load(open('out.txt'))}
assert r['crash']['status'] == 'done', r['crash']" && ok "crash run listed done" || not_ok "crash run status"
finish
