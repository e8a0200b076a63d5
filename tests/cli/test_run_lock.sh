#!/usr/bin/env bash
# One process owns a run, always. Many `lleval run --run-id X` and `lleval
# runs resume X` of the same dry run start at once, round after round, each
# round on a run whose lock file names a process that died (the state the old
# pid-file lock "took over", letting two processes own a run). Checks that
# exactly one of them runs it (every request asked exactly once, per the dry
# engine's LLEVAL_DRY_LOG) and that every other one exits 2 naming the
# holder's pid. The runs last a few seconds (LLEVAL_DRY_DELAY_MS) so that
# all of a round's processes overlap even on a loaded machine.
. "$(dirname "$0")/lib.sh"
cat >lock.yaml <<'YAML'
engine: dry
model_id: dry
temps: [0.0]
max_concurrent_jobs: 1
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML

python3 - "$LLEVAL" <<'PY'
import glob, json, os, signal, subprocess, sys

lleval = sys.argv[1]
procs, rounds = 8, 10
failures = []

def batch_ids(run):
    ids = []
    for path in glob.glob("runs/%s/batches/*/*/*.jsonl" % run):
        with open(path) as f:
            ids += [json.loads(l)["custom_id"] for l in f if l.strip()]
    return ids

for rnd in range(rounds):
    run = "race%02d" % rnd
    # the run's batches, nothing asked yet; then a lock file left by a dead process
    subprocess.run([lleval, "run", "--config", "lock.yaml", "--run-id", run, "--to_step", "build",
                    "-q"], check=True, stdout=subprocess.DEVNULL)
    dead = subprocess.Popen(["true"])
    dead.wait()
    with open("runs/%s/lock" % run, "w") as f:
        f.write("%d\n" % dead.pid)
    log = os.path.abspath("asked-%s.log" % run)
    env = dict(os.environ, LLEVAL_DRY_DELAY_MS="150", LLEVAL_DRY_LOG=log)
    cmds = []
    for i in range(procs):
        if i % 2:
            cmds.append([lleval, "runs", "resume", run, "-q"])
        else:
            cmds.append([lleval, "run", "--config", "lock.yaml", "--run-id", run, "-q"])
    # a start line: each is stopped as soon as it exists, then all go on together
    ps = []
    for c in cmds:
        ps.append(subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        os.kill(ps[-1].pid, signal.SIGSTOP)
    for p in ps:
        os.kill(p.pid, signal.SIGCONT)
    out = []
    for p in ps:
        _, err = p.communicate(timeout=300)
        out.append((p.pid, p.returncode, err.decode()))
    winners = [o for o in out if o[1] == 0]
    if len(winners) != 1:
        failures.append("round %d: %d processes ran the run, wanted 1: %s"
                        % (rnd, len(winners), [(o[0], o[1]) for o in out]))
        continue
    holder = winners[0][0]
    for pid, rc, err in out:
        if pid == holder:
            continue
        if rc != 2:
            failures.append("round %d: pid %d exited %d, wanted 2: %s" % (rnd, pid, rc, err.strip()))
        elif "run '%s' is being run by process %d;" % (run, holder) not in err:
            failures.append("round %d: pid %d does not name the holder %d: %s"
                            % (rnd, pid, holder, err.strip()))
    asked = [l for l in open(log).read().split("\n") if l] if os.path.exists(log) else []
    want = batch_ids(run)
    if sorted(asked) != sorted(want) or len(set(asked)) != len(asked):
        dup = sorted(a for a in set(asked) if asked.count(a) > 1)
        failures.append("round %d: %d requests asked for %d in the batches (asked twice: %s)"
                        % (rnd, len(asked), len(want), dup[:5]))
    if os.path.exists("runs/%s/lock" % run):
        failures.append("round %d: the lock file was left behind" % rnd)
    m = json.load(open("runs/%s/manifest.json" % run))
    if m["status"] != "done":
        failures.append("round %d: manifest status %s" % (rnd, m["status"]))

for f in failures:
    print("not ok - " + f)
if failures:
    sys.exit(1)
print("ok - %d rounds of %d processes: one ran each run, every request asked once, "
      "the others named the holder and exited 2" % (rounds, procs))
PY
