#!/usr/bin/env bash
# Several endpoints in one run, against the fake llama-server (fake_openai.py --llamacpp, 4 slots,
# a fixed delay per answer: 3 s for the throughput, so that the machine's load (a loaded 2-core
# machine, an ASan build) does not decide the speeds, 300 ms elsewhere):
#  - the fake really holds 4 requests at once, and 3 endpoints x 4 slots answer at least 2.8x
#    the requests per second of 1 endpoint x 4 slots;
#  - an endpoint killed mid-run: the run finishes on the others, every custom_id exactly once,
#    and the manifest shows the dead one out of rotation with its requests requeued;
#  - an endpoint whose probe fails at the start (a server still loading, asked as engine openai)
#    starts out of rotation and comes back when its health check passes (it then answers);
#  - every endpoint down: exit 3, nothing recorded.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the fake llama-server"; exit 0; }
fake_pids=()
run_pid=""
stop_all() {
	local p
	for p in "${fake_pids[@]}" $run_pid; do kill "$p" 2>/dev/null || true; done
	for p in "${fake_pids[@]}" $run_pid; do wait "$p" 2>/dev/null || true; done
}
trap 'stop_all; rm -rf "$work"' EXIT

# start_fake NAME [PORT [ARGS...]]: a fake llama-server with 4 slots; sets NAME_port and NAME_pid
start_fake() {
	local name=$1 port=${2:-0}
	shift $(($# < 2 ? $# : 2))
	rm -f "$name.out"
	python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_openai.py" --port "$port" --llamacpp --slots 4 \
		--delay-ms 300 "$@" >"$name.out" 2>"$name.err" &
	local pid=$!
	fake_pids+=("$pid")
	printf -v "${name}_port" '%s' "$(fake_port "$name.out" "$pid")"
	printf -v "${name}_pid" '%s' "$pid"
}
stat_of() { curl -s "http://127.0.0.1:$1/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
reset_fake() { curl -s -X POST "http://127.0.0.1:$1/__reset" >/dev/null; }

# config FILE SAMPLES PORT...: 15 closed-book items x SAMPLES answers over the endpoints
config() {
	local file=$1 samples=$2 p
	shift 2
	{
		echo "engine: llamacpp"
		echo "model_id: fake"
		echo "samples: $samples"
		echo "max_new_tokens: 16"
		echo "max_connect_failures: 3"
		echo "endpoints:"
		for p in "$@"; do echo "  - {base_url: \"http://127.0.0.1:$p\", concurrency: 4}"; done
		echo "datasets:"
		echo "  - {name: c, format: nq_open, path: examples/data/closed_book.jsonl}"
	} >"$file"
}
# exactly_once RUN N: N results, each custom_id once
exactly_once() {
	python3 - "$1" "$2" <<'PY'
import collections, json, sys
ids = [json.loads(l)["custom_id"] for l in open("runs/%s/results/results_combined.jsonl" % sys.argv[1])]
dup = [i for i, c in collections.Counter(ids).items() if c > 1]
assert len(ids) == int(sys.argv[2]) and not dup, (len(ids), dup)
PY
}
journal_lines() { cat runs/"$1"/results/parts/c/t0/*.jsonl 2>/dev/null | wc -l; }

start_fake a
start_fake b
start_fake c

# ---- throughput: 1 x 4 against 3 x 4, 24 requests each (6 and 2 rounds of 3 s) -----------------
set_delay() { curl -s -X POST -d "{\"delay_ms\": $2}" "http://127.0.0.1:$1/__fault" >/dev/null; }
for p in "$a_port" "$b_port" "$c_port"; do set_delay "$p" 3000; done
config one.yaml 4 "$a_port"
config three.yaml 4 "$a_port" "$b_port" "$c_port"
expect_exit 0 "throughput: 1 endpoint x 4 slots" -- "$LLEVAL" run --config one.yaml --run-id one --limit_items 6 -q
max=$(stat_of "$a_port" max_in_flight)
[ "$max" -eq 4 ] && ok "the fake held 4 requests at once (its slots)" || not_ok "the fake held $max at once, wanted 4"
expect_exit 0 "throughput: 3 endpoints x 4 slots" -- "$LLEVAL" run --config three.yaml --run-id three --limit_items 6 -q
exactly_once three 24 && ok "3 endpoints: 24 results, each custom_id once" || not_ok "3 endpoints: results"
python3 - <<'PY' && ok "3 x 4 slots reach >= 2.8x the requests/s of 1 x 4" || not_ok "throughput ratio"
import json
def rps(run):
    eps = json.load(open("runs/%s/manifest.json" % run))["endpoints"]
    done = sum(e["ok"] + e["failed"] for e in eps)
    return done / eps[0]["active_s"], eps
one, _ = rps("one")
three, eps = rps("three")
print("# requests/s: 1 x 4: %.2f, 3 x 4: %.2f, ratio %.2f" % (one, three, three / one))
assert len(eps) == 3 and all(e["ok"] >= 4 and e["slots"] == 4 for e in eps), eps
assert sum(e["ok"] for e in eps) == 24, eps
assert three / one >= 2.8, (one, three)
PY

for p in "$a_port" "$b_port" "$c_port"; do set_delay "$p" 300; done

# ---- one endpoint killed mid-run ------------------------------------------------------------
config kill.yaml 8 "$a_port" "$b_port" "$c_port"
"$LLEVAL" run --config kill.yaml --run-id k --limit_items 15 >k.out 2>k.err &
run_pid=$!
for _ in $(seq 1 400); do [ "$(journal_lines k)" -ge 12 ] && break; sleep 0.05; done
n=$(journal_lines k)
kill -KILL "$b_pid"
rc=0
wait "$run_pid" || rc=$?
run_pid=""
[ "$rc" -eq 0 ] && ok "killed endpoint: the run finishes on the others (exit 0)" ||
	{ not_ok "killed endpoint: exit $rc"; sed 's/^/    /' k.err | tail -20; }
expect_grep "endpoint 3: engine llamacpp at http://127.0.0.1:$c_port ok, 4 slots" k.err "the run's events name each endpoint and its slots"
expect_grep "3 endpoints, 12 requests in flight at most" k.err "the run's events give the total concurrency"
[ "$n" -lt 100 ] && ok "killed endpoint: the kill landed mid-run ($n of 120 answered)" || not_ok "killed endpoint: $n answered before the kill"
exactly_once k 120 && ok "killed endpoint: 120 results, each custom_id exactly once" || not_ok "killed endpoint: results"
python3 - "$b_port" <<'PY' && ok "killed endpoint: the manifest shows it out of rotation, its requests requeued" || not_ok "killed endpoint: manifest"
import json, sys
m = json.load(open("runs/k/manifest.json"))
eps = {e["base_url"].rsplit(":", 1)[1]: e for e in m["endpoints"]}
dead = eps[sys.argv[1]]
print("# dead endpoint:", json.dumps(dead))
assert dead["outages"] >= 1 and dead["in_rotation"] is False, dead
assert dead["out_of_rotation_s"] > 0 and "127.0.0.1:%s" % sys.argv[1] in dead["last_error"], dead
others = [e for p, e in eps.items() if p != sys.argv[1]]
assert sum(e["ok"] for e in eps.values()) == 120, eps
assert all(e["ok"] > dead["ok"] and e["outages"] == 0 for e in others), eps
assert all(l["error"] is None for l in map(json.loads, open("runs/k/results/results_combined.jsonl")))
PY
expect_grep "Endpoints" runs/k/report.md "the report has an endpoints section"

# ---- an endpoint down at the start comes back -----------------------------------------------------
# b2 answers 503 "Loading model" to everything for its first 8 s: its probe fails, so it starts out
# of rotation, and its health checks pass once it is loaded. It is asked as engine openai (the
# endpoint's own engine, its base_url with /v1). a alone would take 120 x 0.6 s / 4 = 18 s.
start_fake b2 0 --loading-ms 8000
set_delay "$a_port" 600
cat >back.yaml <<YAML
engine: llamacpp
model_id: fake
samples: 8
max_new_tokens: 16
endpoints:
  - {base_url: "http://127.0.0.1:$a_port", concurrency: 4}
  - {base_url: "http://127.0.0.1:$b2_port/v1", concurrency: 4, engine: openai}
datasets:
  - {name: c, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 0 "down at the start: the run completes" -- "$LLEVAL" run --config back.yaml --run-id back --limit_items 15
expect_grep "endpoint 2 (http://127.0.0.1:$b2_port/v1).*starts out of rotation" err.txt "down at the start: a warning says it starts out of rotation"
exactly_once back 120 && ok "down at the start: 120 results, each once" || not_ok "down at the start: results"
served=$(stat_of "$b2_port" generate_requests)
python3 - "$b2_port" "$served" <<'PY' && ok "down at the start: back in rotation once its health check passed" || not_ok "down at the start: never back"
import json, sys
eps = {e["base_url"].rsplit(":", 1)[1]: e for e in json.load(open("runs/back/manifest.json"))["endpoints"]}
e = eps[sys.argv[1] + "/v1"]
print("# returned endpoint:", json.dumps(e), "fake saw", sys.argv[2], "generations")
assert e["engine"] == "openai" and e["in_rotation"] is True and e["outages"] == 1, e
assert e["out_of_rotation_s"] > 0 and e["ok"] > 0 and int(sys.argv[2]) >= e["ok"], e
PY

# ---- every endpoint down -----------------------------------------------------------------------
kill -KILL "$a_pid" "$c_pid" "$b2_pid" 2>/dev/null || true
config none.yaml 1 "$a_port" "$c_port"
expect_exit 3 "every endpoint down: exit 3" -- "$LLEVAL" run --config none.yaml --run-id none --limit_items 2 -q
expect_grep "cannot reach" err.txt "every endpoint down: says which cannot be reached"
finish
