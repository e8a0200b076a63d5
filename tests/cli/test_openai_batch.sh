#!/usr/bin/env bash
# engine openai_batch end to end against tests/fakes/fake_openai_batch.py: a whole evaluation
# with every fault of the fake (429 on create, a job that expires half done, output lines out
# of order and duplicated, unknown custom_ids, an error file, downloads that drop mid-body),
# lleval killed -9 between upload and job creation, while a create is in flight, during
# polling and during a download, then resumed: nothing uploaded or submitted twice, every
# result journaled exactly once, the same predictions and scores as an uninterrupted run.
# Also: part files split to the limits, `runs stop` leaves jobs running, `runs stop --cancel`
# cancels them, the key never written, --dry-run as before.
set -euo pipefail
: "${LLEVAL:?set LLEVAL to the lleval binary}" "${LLEVAL_SOURCE_DIR:?}"
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
cp -r "$LLEVAL_SOURCE_DIR/examples" .
FAKE="$LLEVAL_SOURCE_DIR/tests/fakes/fake_openai_batch.py"
export LLEVAL_TEST_BATCH_KEY="sk-batch-secret-4242"

# start_fake NAME ARGS...: starts a fake, sets NAME_port
start_fake() {
	local name=$1
	shift
	python3 "$FAKE" --log "$work/$name.log" --require-key "$LLEVAL_TEST_BATCH_KEY" "$@" \
		>"$name.out" 2>"$name.err" &
	pids+=($!)
	for _ in $(seq 1 200); do
		grep -q '^PORT ' "$name.out" 2>/dev/null && break
		sleep 0.05
	done
	eval "${name}_port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$name.out" | head -n 1)"
}

# config FILE PORT [EXTRA YAML LINES...]
config() {
	local file=$1 port=$2
	shift 2
	cat >"$file" <<YAML
engine: openai_batch
model_id: gpt-4o-mini
base_url: http://127.0.0.1:$port/v1
api_key_env: LLEVAL_TEST_BATCH_KEY
temps: [0.0]
max_retries: 4
batch:
  max_requests: 7
  poll_interval_ms: 50
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
	for line in "$@"; do echo "$line" >>"$file"; done
}

start_fake ref --error-every 5
start_fake faulty --error-every 5 --rate-limit-creates 2 --expire-first --shuffle \
	--duplicate-every 3 --unknown-lines 1 --drop-downloads 2 --create-delay-ms 1500 \
	--slow-download-ms 1500 --ms-per-request 40 --max-file-requests 7
start_fake stop --ms-per-request 2000
config ref.yaml "$ref_port"
config faulty.yaml "$faulty_port"
config stop.yaml "$stop_port"

python3 - "$LLEVAL" "$faulty_port" "$stop_port" <<'PY'
import csv, glob, json, os, signal, subprocess, sys, time, urllib.request
lleval, faulty_port, stop_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
key = os.environ["LLEVAL_TEST_BATCH_KEY"]
fails = []

def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        fails.append(what)

def stats(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/__stats" % port, timeout=10) as r:
        return json.load(r)

def log_lines(name):
    try:
        with open(name + ".log") as f:
            return f.read().split("\n")
    except FileNotFoundError:
        return []

def wait_for(name, pred, what, bound=120):
    end = time.time() + bound
    while time.time() < end:
        if pred(log_lines(name)):
            return True
        time.sleep(0.02)
    sys.exit("FAIL: waited %d s for %s" % (bound, what))

def count(name, prefix):
    return sum(1 for l in log_lines(name) if l.startswith(prefix))

# the reference: an uninterrupted run without faults (except the same failing requests)
ref = subprocess.run([lleval, "run", "--config", "ref.yaml", "--run-id", "ref"],
                     capture_output=True, text=True)
check(ref.returncode == 1, "reference run: some requests failed (error file): exit %d" % ref.returncode)

# kill -9 at four points, then resume to the end
def kill_when(pred, what):
    p = subprocess.Popen([lleval, "run", "--config", "faulty.yaml", "--run-id", "crash", "-q"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for("faulty", pred, what)
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stderr.close()
    check(p.returncode == -signal.SIGKILL, "killed -9 " + what)

kill_when(lambda ls: any(l.startswith("create-429") for l in ls),
          "between upload and job creation (a 429 backoff)")
n = count("faulty", "create-received")
kill_when(lambda ls: sum(1 for l in ls if l.startswith("create-received")) > n,
          "while a create is in flight")
n = count("faulty", "status ")
kill_when(lambda ls: sum(1 for l in ls if l.startswith("status ")) > n + 2, "during polling")
n = count("faulty", "download-start")
kill_when(lambda ls: sum(1 for l in ls if l.startswith("download-start")) > n + 2,
          "during a download")
last = subprocess.run([lleval, "runs", "resume", "crash"], capture_output=True, text=True)
check(last.returncode == 1, "resumed run finished with the failed requests: exit %d: %s" %
      (last.returncode, last.stderr[-600:]))

st = stats(faulty_port)
check(all(v == 1 for v in st["uploads_per_name"].values()),
      "no input uploaded twice: %s" % st["uploads_per_name"])
check(all(v == 1 for v in st["batches_per_input"].values()),
      "no input submitted twice: %s" % st["batches_per_input"])
check(st["rate_limited"] == 2 and st["dropped"] == 2, "the 429s and dropped downloads happened")
check(any("-a2.jsonl" in n for n in st["uploads_per_name"]),
      "the expired job's missing requests were resubmitted (attempt 2)")
check("duplicate" in last.stderr and "unknown" in last.stderr,
      "duplicates and unknown custom_ids reported")

for path in glob.glob("runs/crash/results/parts/*/*/*.jsonl"):
    data = open(path, "rb").read()
    ids = [json.loads(l)["custom_id"] for l in data.split(b"\n") if l]
    check(len(ids) == len(set(ids)), path + ": every result once")
    check(all(not i.startswith("unknown:") for i in ids), path + ": no unknown custom_id")

def rows(run):
    with open("runs/%s/results/predictions.csv" % run, newline="") as f:
        keep = ("custom_id", "status", "prediction")
        return sorted(tuple(r[k] for k in keep) for r in csv.DictReader(f))
check(rows("ref") == rows("crash"), "same predictions as the uninterrupted run")

def metrics(run):
    def strip(o):
        if isinstance(o, dict):
            return {k: strip(v) for k, v in o.items()
                    if not any(s in k for s in ("latency", "tps", "tok_s", "tokens_per", "time",
                                                "_at", "elapsed"))
                    and not (isinstance(v, str) and "runs/" in v)}
        if isinstance(o, list):
            return [strip(v) for v in o]
        return o
    return strip(json.load(open("runs/%s/results/scores.json" % run)))
check(metrics("ref") == metrics("crash"), "same scores as the uninterrupted run")

parts = json.load(open("runs/crash/batches/build.json"))["parts"]
check(all(p["requests"] <= 7 for p in parts) and len(parts) > 3,
      "part files split to batch.max_requests: %s" % [p["requests"] for p in parts])
states = [json.load(open(p)) for p in glob.glob("runs/crash/parts/*/*/*/state.json")]
check(states and all(s["remote"]["phase"] in ("collected", "ended") and s["remote"]["input_id"]
                     and s["remote"]["job_id"] for s in states),
      "every part's state.json records its file and batch ids")

secret_hits = [p for p in glob.glob("runs/**/*", recursive=True)
               if os.path.isfile(p) and key.encode() in open(p, "rb").read()]
check(not secret_hits, "the key is written nowhere: %s" % secret_hits)
check(key not in last.stderr + last.stdout and key not in ref.stderr + ref.stdout,
      "the key is printed nowhere")

# runs stop leaves the jobs running and says so; runs stop --cancel cancels them
for cancel in (False, True):
    rid = "cancel" if cancel else "stopped"
    n = count("stop", "status ")
    p = subprocess.Popen([lleval, "run", "--config", "stop.yaml", "--run-id", rid],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for("stop", lambda ls: sum(1 for l in ls if l.startswith("status ")) >= n + 3,
             "the stop run's jobs being polled")
    s = subprocess.run([lleval, "runs", "stop", rid, "--wait"] + (["--cancel"] if cancel else []),
                       capture_output=True, text=True)
    out, err = p.communicate(timeout=120)
    check(s.returncode == 0 and p.returncode == 130,
          "runs stop%s: the run stopped (exit %d)" % (" --cancel" if cancel else "", p.returncode))
    st = stats(stop_port)
    mine = [json.load(open(f))["remote"]["job_id"]
            for f in glob.glob("runs/%s/parts/*/*/*/state.json" % rid)]
    statuses = [st["statuses"].get(j) for j in mine if j]
    if cancel:
        check(statuses and all(x in ("cancelling", "cancelled") for x in statuses),
              "runs stop --cancel cancelled the jobs: %s" % statuses)
    else:
        check("left running" in err and statuses and
              all(x in ("validating", "in_progress", "finalizing", "completed") for x in statuses),
              "runs stop left the jobs running and said so: %s" % statuses)

# the stopped run's jobs are still running: runs stop --cancel now cancels them itself
uploads = sum(stats(stop_port)["uploads_per_name"].values())
s = subprocess.run([lleval, "runs", "stop", "stopped", "--cancel"], capture_output=True, text=True)
st = stats(stop_port)
mine = [json.load(open(f))["remote"]["job_id"]
        for f in glob.glob("runs/stopped/parts/*/*/*/state.json")]
statuses = [st["statuses"].get(j) for j in mine if j]
check(s.returncode == 0 and "were cancelled" in s.stdout,
      "runs stop --cancel of a stopped run: exit %d: %s %s" % (s.returncode, s.stdout, s.stderr[-400:]))
check(statuses and all(x in ("cancelling", "cancelled") for x in statuses),
      "runs stop --cancel of a stopped run cancelled its jobs: %s" % statuses)
check(sum(st["uploads_per_name"].values()) == uploads, "and uploaded nothing new")
s = subprocess.run([lleval, "runs", "stop", "ref", "--cancel"], capture_output=True, text=True)
check(s.returncode == 2 and "is done" in s.stderr,
      "runs stop --cancel of a finished run is refused: exit %d %s" % (s.returncode, s.stderr))

r = subprocess.run([lleval, "runs", "resume", "cancel"], capture_output=True, text=True)
check(r.returncode == 0, "a cancelled run resumes: the missing requests are resubmitted (exit %d) %s"
      % (r.returncode, r.stderr[-400:]))
if fails:
    sys.exit("%d failed" % len(fails))
PY

# --dry-run as before: the dry engine answers, the fake sees nothing
before=$(grep -c . faulty.log)
"$LLEVAL" run --config faulty.yaml --dry-run --run-id dry -q >/dev/null
after=$(grep -c . faulty.log)
[ "$before" = "$after" ] && echo "ok - --dry-run asks the batch service nothing" ||
	{ echo "not ok - --dry-run reached the fake"; exit 1; }

# batch.max_bytes splits too
config bytes.yaml "$ref_port"
sed -i 's/^  max_requests: 7$/  max_requests: 0\n  max_bytes: 2500/' bytes.yaml
"$LLEVAL" run --config bytes.yaml --run-id bytes --to-step build -q >/dev/null
python3 - <<'PY'
import glob, os, sys
sizes = [os.path.getsize(p) for p in glob.glob("runs/bytes/batches/*/*/*.jsonl")]
if not sizes or max(sizes) > 2500 or len(sizes) < 4:
    sys.exit("not ok - batch.max_bytes: part sizes %s" % sizes)
print("ok - part files split to batch.max_bytes: %d files, at most %d bytes" % (len(sizes), max(sizes)))
PY
