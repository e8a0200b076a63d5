#!/usr/bin/env bash
# End to end: `lleval run` against the fake engines in tests/fakes with
# faults injected (delays, HTTP 500 with Ollama's out-of-memory text, dropped
# connections, malformed JSON, invalid UTF-8, 429 with Retry-After, a model
# that is not pulled, an unreachable server, API keys), checking exit
# statuses, retries recorded as attempts, and that the number of requests in
# flight never exceeds max_concurrent_jobs (from the fake's /__stats).
source "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "skip - python3 is not installed: the fake engines need it"
	exit 0
fi

fakes="$LLEVAL_SOURCE_DIR/tests/fakes"
fake_pids=()
trap 'for p in "${fake_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT

# start_fake NAME SCRIPT ARGS...: starts a fake, sets NAME_port and NAME_pid
start_fake() {
	local name=$1 script=$2
	shift 2
	rm -f "$name.out"
	python3 "$fakes/$script" "$@" >"$name.out" 2>"$name.err" &
	local pid=$!
	fake_pids+=("$pid")
	local port
	port=$(fake_port "$name.out" "$pid")
	if [ -z "$port" ]; then
		echo "cannot start $script:" >&2
		cat "$name.err" >&2
		exit 1
	fi
	printf -v "${name}_port" '%s' "$port"
	printf -v "${name}_pid" '%s' "$pid"
}

stats() { # stats PORT KEY: prints one /__stats value
	python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen("http://127.0.0.1:%s/__stats" % sys.argv[1]))
v = d
for k in sys.argv[2].split("."):
    v = v[k]
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)
PY
}

fault() { # fault PORT JSON
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/__fault" % sys.argv[1],
                                              data=sys.argv[2].encode(), method="POST")).read()
PY
}

reset_stats() {
	python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$1/__reset', data=b'{}', method='POST')).read()"
}

# write_config FILE ENGINE BASE_URL MODEL [extra yaml lines]
write_config() {
	local file=$1 engine=$2 url=$3 model=$4
	shift 4
	{
		echo "engine: $engine"
		echo "base_url: $url"
		echo "model_id: \"$model\""
		echo "temps: [0.0]"
		echo "context_length: 2048"
		echo "keep_alive: 10m"
		echo "datasets:"
		echo "  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}"
		for line in "$@"; do echo "$line"; done
	} >"$file"
}

# check_results RUN_DIR N MIN_RETRIED: N ok results, at least MIN_RETRIED with attempts > 1
check_results() {
	python3 - "$@" <<'PY'
import json, sys
run, n, min_retried = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = [json.loads(l) for l in open(run + "/results/results_combined.jsonl", encoding="utf-8")]
assert len(lines) == n, "%d results, wanted %d" % (len(lines), n)
ids = [l["custom_id"] for l in lines]
assert len(set(ids)) == n, "duplicate custom_ids"
bad = [l for l in lines if l["error"] is not None or l["response"]["status_code"] != 200]
assert not bad, "failed results: %s" % bad[:1]
retried = [l for l in lines if l["lleval"]["attempts"] > 1]
assert len(retried) >= min_retried, "%d retried results, wanted >= %d" % (len(retried), min_retried)
for l in lines:
    body = l["response"]["body"]
    assert body["choices"][0]["message"]["content"].startswith("echo: "), body
PY
}

model=llama3.1:8b-instruct-q4_K_M

# ---- ollama --------------------------------------------------------------------------------
start_fake ollama fake_ollama.py --model "$model" --delay-ms 30
url=http://127.0.0.1:$ollama_port

# HTTP 500 with the out-of-memory text on every 3rd request: retried, recorded as attempts
fault "$ollama_port" '{"error_500_every": 3}'
write_config o.yaml ollama "$url" "$model" "max_concurrent_jobs: 2"
expect_exit 0 "ollama: 500 out of memory every 3rd request is retried" -- \
	"$LLEVAL" run --config o.yaml --run-id oom --limit-items 8 -q
check_results runs/oom 8 1 && ok "ollama: 8 answers, retries recorded in attempts" ||
	not_ok "ollama: results after 500s"
[ "$(stats "$ollama_port" faults_injected.error_500)" -ge 1 ] && ok "the fake injected 500s" ||
	not_ok "no 500 was injected"
[ "$(stats "$ollama_port" max_in_flight)" -le 2 ] && ok "ollama: never more than 2 in flight" ||
	not_ok "ollama: $(stats "$ollama_port" max_in_flight) in flight with max_concurrent_jobs 2"
opts=$(stats "$ollama_port" last_request)
python3 -c "
import json, sys
r = json.loads(sys.argv[1])
assert r['stream'] is False, r
assert r['options']['num_ctx'] == 2048, r['options']
assert r['options']['num_predict'] > 0, r['options']
assert r['keep_alive'] == '10m', r
assert r['model'] == '$model', r
" "$opts" && ok "ollama: /api/chat got stream false, num_ctx, num_predict, keep_alive" ||
	not_ok "ollama request body: $opts"

# dropped connections and malformed JSON: retried
fault "$ollama_port" '{"error_500_every": 0, "drop_every": 4}'
expect_exit 0 "ollama: a dropped connection every 4th request is retried" -- \
	"$LLEVAL" run --config o.yaml --run-id drop --limit-items 8 -q
check_results runs/drop 8 1 && ok "ollama: answers after dropped connections" ||
	not_ok "ollama: results after dropped connections"
fault "$ollama_port" '{"drop_every": 0, "malformed_every": 3}'
expect_exit 0 "ollama: malformed JSON every 3rd reply is retried" -- \
	"$LLEVAL" run --config o.yaml --run-id malformed --limit-items 8 -q
check_results runs/malformed 8 1 && ok "ollama: answers after malformed replies" ||
	not_ok "ollama: results after malformed replies"

# invalid UTF-8 in an answer: kept, sanitized
fault "$ollama_port" '{"malformed_every": 0, "invalid_utf8_every": 2}'
expect_exit 0 "ollama: invalid UTF-8 in answers" -- \
	"$LLEVAL" run --config o.yaml --run-id utf8 --limit-items 4 -q
python3 - runs/utf8 <<'PY' && ok "invalid bytes became U+FFFD" || not_ok "invalid UTF-8 handling"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/results/results_combined.jsonl", "rb")]
texts = [l["response"]["body"]["choices"][0]["message"]["content"] for l in lines]
assert len(texts) == 4 and any("\ufffd" in t for t in texts), texts
PY

# concurrency: with slow answers the client keeps at most N in flight
fault "$ollama_port" '{"invalid_utf8_every": 0, "delay_ms": 150}'
reset_stats "$ollama_port"
write_config c.yaml ollama "$url" "$model" "max_concurrent_jobs: 3"
expect_exit 0 "ollama: max_concurrent_jobs 3" -- \
	"$LLEVAL" run --config c.yaml --run-id conc --limit-items 12 -q
inflight=$(stats "$ollama_port" max_in_flight)
[ "$inflight" -le 3 ] && ok "ollama: at most 3 in flight (saw $inflight)" ||
	not_ok "ollama: $inflight in flight with max_concurrent_jobs 3"

# every request runs out of memory: the run finishes with failures (exit 1) and says why
fault "$ollama_port" '{"delay_ms": 0, "error_500_every": 1}'
write_config f.yaml ollama "$url" "$model" "max_retries: 1"
expect_exit 1 "ollama: always out of memory -> failed requests, exit 1" -- \
	"$LLEVAL" run --config f.yaml --run-id allfail --limit-items 2 -q
python3 - runs/allfail <<'PY' && ok "failures record the engine's out-of-memory text and attempts" ||
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1] + "/results/results_combined.jsonl")]
assert len(lines) == 2, len(lines)
for l in lines:
    assert l["error"] and "out of memory" in l["error"]["message"], l["error"]
    assert l["lleval"]["attempts"] == 2, l["lleval"]
PY
	not_ok "failed results do not carry the OOM text"
fault "$ollama_port" '{"error_500_every": 0}'

# a model that is not pulled: exit 3 with the pull hint, before any request
reset_stats "$ollama_port"
write_config m.yaml ollama "$url" "mistral:7b"
expect_exit 3 "ollama: model not pulled -> exit 3" -- "$LLEVAL" run --config m.yaml --run-id nomodel -q
expect_grep 'ollama pull mistral:7b' err.txt "the message says to run ollama pull"
expect_grep "Ollama at http://127.0.0.1:$ollama_port has: $model" err.txt "the message lists the models the server has"
[ "$(stats "$ollama_port" generate_requests)" -eq 0 ] && ok "no request sent for a missing model" ||
	not_ok "requests were sent for a missing model"

# nothing listening: exit 3 with the ollama serve hint
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
write_config d.yaml ollama "http://127.0.0.1:$dead" "$model"
expect_exit 3 "ollama: unreachable -> exit 3" -- "$LLEVAL" run --config d.yaml --run-id dead -q
expect_grep 'is `ollama serve` running' err.txt "the message says to start ollama serve"

# ---- openai --------------------------------------------------------------------------------
export LLEVAL_FAKE_KEY=sk-fake-e2e-0123456789
start_fake openai fake_openai.py --require-key "$LLEVAL_FAKE_KEY" --model "$model" --rate-limit-every 3 --retry-after 1
write_config k.yaml openai "http://127.0.0.1:$openai_port/v1" "$model" "api_key_env: LLEVAL_FAKE_KEY" \
	"max_concurrent_jobs: 2"
expect_exit 0 "openai: bearer key, 429 every 3rd request retried" -- \
	"$LLEVAL" run --config k.yaml --run-id oa --limit-items 6 -q
check_results runs/oa 6 1 && ok "openai: 6 answers, 429s retried" || not_ok "openai: results"
[ "$(stats "$openai_port" last_authorized)" = true ] && ok "openai: the fake saw the right bearer key" ||
	not_ok "openai: no bearer key"
[ "$(stats "$openai_port" max_in_flight)" -le 2 ] && ok "openai: never more than 2 in flight" ||
	not_ok "openai: too many in flight"
if grep -rqF "$LLEVAL_FAKE_KEY" runs/oa out.txt err.txt; then not_ok "the API key was written somewhere"; else
	ok "the API key appears in no file of the run"
fi
(
	unset LLEVAL_FAKE_KEY
	expect_exit 3 "openai: key variable unset -> exit 3" -- "$LLEVAL" run --config k.yaml --run-id nokey -q
	expect_grep LLEVAL_FAKE_KEY err.txt "the message names the variable to set"
	finish >/dev/null
) && ok "openai: missing key checks" || not_ok "openai: missing key checks"

# ---- llamacpp (the fake playing llama-server; the real one has its own tests) ----------------
start_fake llama fake_openai.py --llamacpp --slots 1 --n-ctx 4096 --loading-ms 500 --delay-ms 50
write_config l.yaml llamacpp "http://127.0.0.1:$llama_port" "$model" "max_concurrent_jobs: 4"
expect_exit 0 "llamacpp: one slot, max_concurrent_jobs 4" -- \
	"$LLEVAL" run --config l.yaml --run-id lc --limit-items 6
check_results runs/lc 6 0 && ok "llamacpp: 6 answers" || not_ok "llamacpp: results"
[ "$(stats "$llama_port" max_in_flight)" -eq 1 ] && ok "llamacpp: clamped to the server's single slot" ||
	not_ok "llamacpp: $(stats "$llama_port" max_in_flight) in flight on a 1-slot server"
expect_grep 'clamped to 1' err.txt "the clamp is reported"
python3 - runs/lc <<'PY' && ok "llamacpp: timings became tokens/s" || not_ok "llamacpp: no tokens/s"
import json, sys
for l in open(sys.argv[1] + "/results/results_combined.jsonl"):
    f = json.loads(l)["lleval"]
    assert abs(f["gen_tps"] - 50.0) < 0.01 and abs(f["prompt_tps"] - 500.0) < 0.01, f
PY

finish
