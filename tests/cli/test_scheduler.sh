#!/usr/bin/env bash
# The scheduler against the fake Ollama: per-request timeouts are retried with
# backoff and recorded, a slow engine never gets more than N requests at once,
# and a 5xx that clears on retry leaves a successful result with its attempts.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the fake Ollama"; exit 0; }
fake_pid=""
stop_fake() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; fake_pid=""; }
trap 'stop_fake; rm -rf "$work"' EXIT
start_fake() {
	stop_fake
	rm -f fake.out
	python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_ollama.py" --port 0 "$@" >fake.out 2>fake.err &
	fake_pid=$!
	port=$(fake_port fake.out "$fake_pid")
	[ -n "$port" ] || { echo "cannot start the fake engine:" >&2; cat fake.err >&2; exit 1; }
}
config() {
	cat >"$1" <<YAML
engine: ollama
model_id: llama3.1:8b-instruct-q4_K_M
base_url: http://127.0.0.1:$port
max_new_tokens: 16
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
}

# every request takes 2.5 s; the timeout is 1 s: each is tried 1 + 1 times, then recorded as a timeout
start_fake --delay-ms 2500
config slow.yaml
expect_exit 1 "timeouts: run exits 1 with failed requests" -- "$LLEVAL" run --config slow.yaml --run-id to --limit_items 2 --set request_timeout_s=1 --set max_retries=1 --max_concurrent_jobs 2 -q
python3 - <<'PY' && ok "timeouts: 2 results, code timeout, 2 attempts each" || not_ok "timeouts"
import json
lines = [json.loads(l) for l in open("runs/to/results/results_combined.jsonl")]
assert len(lines) == 2, len(lines)
for l in lines:
    assert l["error"]["code"] == "timeout", l["error"]
    assert l["lleval"]["attempts"] == 2, l["lleval"]
    assert l["lleval"]["finish_reason"] == "error"
PY

# every 2nd request gets HTTP 500: retried once, then answered
start_fake --error-500-every 2
config flaky.yaml
expect_exit 0 "5xx cleared by a retry" -- "$LLEVAL" run --config flaky.yaml --run-id fl --limit_items 6 --max_concurrent_jobs 1 -q
python3 - <<'PY' && ok "5xx: every result ok, retried ones record their attempts (<= 1 + max_retries)" || not_ok "5xx retry"
import json
lines = [json.loads(l) for l in open("runs/fl/results/results_combined.jsonl")]
assert len(lines) == 6 and all(l["error"] is None for l in lines), lines
attempts = sorted(l["lleval"]["attempts"] for l in lines)
assert sum(a > 1 for a in attempts) >= 2 and max(attempts) <= 4, attempts
PY

# a 4xx other than 429 is never retried: the model is listed (the probe passes) but every
# generation answers 404 model not found: one attempt each; a run whose every request is a 404
# stops with exit 3 naming the fix (docs/formats.md), recording none of them
start_fake --not-found
config nf.yaml
expect_exit 3 "404 at request time" -- "$LLEVAL" run --config nf.yaml --run-id nf --limit_items 3 -q
expect_grep "ollama pull" err.txt "4xx: the pull hint kept"
max_retry=$(curl -s "http://127.0.0.1:$port/__stats" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['by_path'].get('/api/chat', 0))")
[ "$max_retry" -eq 3 ] && ok "4xx: the engine saw exactly 3 generation requests" || not_ok "4xx: $max_retry requests"

# at most N in flight against a slow engine, and N really reached
start_fake --delay-ms 300
config n.yaml
expect_exit 0 "N in flight: concurrency 3 against a slow engine" -- "$LLEVAL" run --config n.yaml --run-id n3 --limit_items 9 --max_concurrent_jobs 3 -q
max=$(curl -s "http://127.0.0.1:$port/__stats" | python3 -c "import json,sys; print(json.load(sys.stdin)['max_in_flight'])")
[ "$max" -le 3 ] && [ "$max" -ge 2 ] && ok "N in flight: the engine saw $max at once (<= 3)" || not_ok "N in flight: $max"
stop_fake
finish
