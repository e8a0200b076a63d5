#!/usr/bin/env bash
# max_concurrent_jobs auto and `lleval tune` against the fake llama-server with 3
# slots (each request holds a slot for 200 ms, so its throughput stops growing at
# 3 in flight): auto measures 1, 2, 3, ... on the run's first requests, picks a
# concurrency of at least the slots, records the curve in the manifest and the
# report, and every request has exactly one result; `lleval tune --json` prints
# the curve and leaves the run resumable; a bad value is a config error naming
# auto. No assertion depends on how fast the machine is beyond the fake's plateau.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the fake llama-server"; exit 0; }
fake_pid=""
stop_fake() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; fake_pid=""; }
trap 'stop_fake; rm -rf "$work"' EXIT

# the key's values: auto, a whole number 1..256; anything else is a config error (exit 2)
expect_exit 2 "auto2 is a config error" -- "$LLEVAL" config show --set max_concurrent_jobs=auto2
expect_grep "or auto, not 'auto2'; did you mean 'auto'?" err.txt "auto2: did you mean 'auto'"
expect_exit 2 "0 is a config error" -- "$LLEVAL" config show --max-concurrent-jobs 0
expect_grep "must be from 1 to 256, not 0 (or auto)" err.txt "0: the range and auto named"
printf 'max_concurrent_jobs: atuo\n' >bad.yaml
expect_exit 2 "a misspelt auto in a file" -- "$LLEVAL" config show --config bad.yaml
expect_grep "bad.yaml:1:.*did you mean 'auto'" err.txt "a file's misspelling: its place and the fix"
expect_exit 0 "--max_concurrent_jobs auto" -- "$LLEVAL" config show --max_concurrent_jobs auto
expect_grep "^max_concurrent_jobs: auto" out.txt "config show prints auto"

python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_openai.py" --port 0 --llamacpp --slots 3 --delay-ms 200 \
	>fake.out 2>fake.err &
fake_pid=$!
port=$(fake_port fake.out "$fake_pid")
[ -n "$port" ] || { echo "cannot start the fake engine:" >&2; cat fake.err >&2; exit 1; }
# 16 items x 8 samples = 128 requests: enough for the samples at 1, 2, 3, 4 and 5
cat >t.yaml <<YAML
engine: llamacpp
model_id: fake
base_url: http://127.0.0.1:$port
max_new_tokens: 16
samples: 8
max_concurrent_jobs: auto
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML

check_once() { # RUN N: N results, each custom_id once, in the journals and the combined file
	python3 - "$1" "$2" <<'PY'
import glob, json, sys
run, n = sys.argv[1], int(sys.argv[2])
ids = [json.loads(l)["custom_id"] for l in open(run + "/results/results_combined.jsonl")]
assert len(ids) == n and len(set(ids)) == n, (len(ids), len(set(ids)))
files = glob.glob(run + "/results/parts/**/*.jsonl", recursive=True)
assert files, "no part journal"
jids = [json.loads(l)["custom_id"] for f in files for l in open(f) if l.strip()]
assert len(jids) == n and len(set(jids)) == n, "a journal holds a request twice"
PY
}

expect_exit 0 "auto: the run finishes" -- "$LLEVAL" run --config t.yaml --run-id a -q
python3 - <<'PY' && ok "auto: picked >= the 3 slots, the curve in the manifest" || not_ok "auto: manifest"
import json
m = json.load(open("runs/a/manifest.json"))
t = m["tune"]
assert t["slots"] == 3, t
assert t["chosen"] >= 3, t
assert m["max_concurrent_jobs"] == t["chosen"], (m["max_concurrent_jobs"], t)
c = [p["concurrency"] for p in t["curve"]]
assert c[:3] == [1, 2, 3] and c == sorted(c) and len(c) >= 4, c
assert t["chosen"] in c, t
for p in t["curve"]:
    assert p["requests"] >= 2 * p["concurrency"] + 4 and p["rps"] > 0 and p["seconds"] > 0, p
# the plateau: 3 in flight serve clearly more than 1 (3 slots; the fake holds each 200 ms)
r = {p["concurrency"]: p["rps"] for p in t["curve"]}
assert r[3] > 2 * r[1], r
PY
check_once runs/a 128 && ok "auto: 128 results, each request once" || not_ok "auto: exactly once"
max=$(curl -s "http://127.0.0.1:$port/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['max_in_flight'])")
[ "$max" -ge 4 ] && ok "auto: the fake saw $max in flight (above its 3 slots: not clamped)" || not_ok "auto: $max in flight"
expect_grep "^## Concurrency" runs/a/report.md "report.md: the Concurrency section"
expect_grep "max_concurrent_jobs auto picked" runs/a/report.md "report.md: the pick explained"
grep -q 'id="concurrency"' runs/a/report.html && ok "report.html: the Concurrency section" || not_ok "report.html: no Concurrency section"

# lleval tune: the curve as JSON, the run stopped and resumable, then finished exactly once
expect_exit 0 "lleval tune --json" -- "$LLEVAL" tune --config t.yaml --run-id tj --json -q
python3 - <<'PY' && ok "tune --json: the run, its answers and the curve" || not_ok "tune --json"
import json
j = json.load(open("out.txt"))
assert j["run_id"] == "tj" and j["exit_status"] == 0, j
t = j["tune"]
assert t["chosen"] >= 3 and len(t["curve"]) >= 4, t
assert j["answered"] == sum(p["requests"] for p in t["curve"]), j
m = json.load(open("runs/tj/manifest.json"))
assert m["status"] == "stopped", m["status"]
PY
expect_exit 0 "lleval tune: the table" -- "$LLEVAL" tune --config t.yaml --run-id tt -q
expect_grep "^concurrency requests" out.txt "tune: the table's header"
expect_grep "<- chosen" out.txt "tune: the pick marked"
expect_grep "runs resume tt" err.txt "tune: how to finish the run"
expect_exit 0 "the tuned run resumes" -- "$LLEVAL" runs resume tt -q
check_once runs/tt 128 && ok "resumed: 128 results, each request once" || not_ok "resumed: exactly once"
stop_fake
finish
