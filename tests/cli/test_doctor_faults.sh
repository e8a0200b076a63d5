#!/usr/bin/env bash
# lleval doctor against injected engine faults (fake OpenAI / llama-server):
# out-of-memory errors retried into success, a wrong endpoint (HTTP 404 on
# every request: the run stops with exit 3 and records nothing), connection
# refused (the guide's Connection branch with the engine's address and this
# platform's commands), requests over the context window, empty answers whose
# tokens went to reasoning (reasoning_content and <think>), unreadable
# multiple-choice letters; and a healthy run that gets no finding.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the fake engine"; exit 0; }

fake_pid=""
stop_fake() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; fake_pid=""; }
trap 'stop_fake; rm -rf "$work"' EXIT
start_fake() {
	stop_fake
	# the previous fake's PORT line must not be read before this one's redirection empties
	# the file (the shell forks, then opens it): fake_port would take a stale or empty port
	rm -f fake.out
	python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_openai.py" --port 0 "$@" >fake.out 2>fake.err &
	fake_pid=$!
	port=$(fake_port fake.out "$fake_pid")
	[ -n "$port" ] || { echo "cannot start the fake engine:" >&2; cat fake.err >&2; exit 1; }
}
config() { # config NAME ENGINE BASE_URL [extra yaml lines...]
	local name=$1 engine=$2 url=$3
	shift 3
	{
		echo "engine: $engine"
		echo "model_id: fake-8b-q4_K_M"
		echo "base_url: $url"
		echo "max_retries: 3"
		echo "max_new_tokens: {closed_book: 64, open_book: 64, multiple_choice: 16}"
		for line in "$@"; do echo "$line"; done
		echo "datasets:"
		echo "  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}"
		echo "  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}"
	} >"$name"
}
# every question answered: MC with its letter
cat >answers.json <<'JSON'
{"capital of France": "Paris", "prime": "C", "multiplied by 8": "B", "pumps blood": "A",
 "electrical resistance": "D", "last-in": "B", "main gas": "C", "90 degrees": "A",
 "a mammal": "B", "decimal number 5": "D", "beneath the crust": "C"}
JSON
findings() { python3 -c "import json; print(' '.join(f['kind'] for f in json.load(open('out.txt'))['findings']))"; }

# healthy: no finding at all
start_fake --answers answers.json --model fake-8b-q4_K_M
config healthy.yaml openai "http://127.0.0.1:$port/v1"
expect_exit 0 "healthy run" -- "$LLEVAL" run --config healthy.yaml --run-id healthy -q --limit_items 5
expect_exit 0 "doctor on the healthy run" -- "$LLEVAL" doctor healthy --json
[ -z "$(findings)" ] && ok "healthy: no finding" || not_ok "healthy: findings: $(findings)"
python3 -c "import json; m = json.load(open('runs/healthy/manifest.json')); assert 'engine_events' not in m and 'retries' not in m, m" &&
	ok "healthy: the manifest has no engine events or retries" || not_ok "healthy: manifest events"

# out of memory on every other generation, retried into success: "0 failed", but doctor sees it
start_fake --answers answers.json --model fake-8b-q4_K_M --oom-every 3
config oom.yaml openai "http://127.0.0.1:$port/v1" "context_length: 8192"
expect_exit 0 "run with OOM errors that retries absorb" -- "$LLEVAL" run --config oom.yaml --set max_retries=8 --run-id oom -q --limit_items 5
python3 - <<'PY' && ok "manifest: retries.by_class.oom counts the retried OOM errors" || not_ok "manifest retries"
import json
m = json.load(open("runs/oom/manifest.json"))
assert m["requests"]["errors"] == 0, m["requests"]
oom = m["retries"]["by_class"]["oom"]
assert oom["count"] >= 3 and "out of memory" in oom["sample"], m["retries"]
assert m["retries"]["total"] >= oom["count"], m["retries"]
PY
expect_exit 1 "doctor on the OOM-retried run" -- "$LLEVAL" doctor oom
expect_grep "\[oom\]" out.txt "names out of memory though no request failed"
expect_grep "got the engine's out-of-memory error and were retried" out.txt "says they were retried"
expect_grep "retries.by_class.oom" out.txt "cites the manifest's retry counts"
expect_grep "1) context_length 8192 -> 4096" out.txt "gives the guide's first OOM fix"
expect_exit 0 "report of the OOM-retried run" -- "$LLEVAL" report oom
expect_grep "oom" runs/oom/report.md "report.md shows the retries by class"
expect_grep "Engine events" runs/oom/report.html "report.html shows the engine events section"

# wrong endpoint: every request gets HTTP 404 -> exit 3 naming the URL, nothing journaled
start_fake --answers answers.json --model fake-8b-q4_K_M --not-found
config nf.yaml openai "http://127.0.0.1:$port/v1"
expect_exit 3 "run against a wrong endpoint" -- "$LLEVAL" run --config nf.yaml --run-id nf -q --limit_items 5
expect_grep "HTTP 404 from 'http://127.0.0.1:$port/v1'" err.txt "the error names the URL"
expect_grep "ending in /v1" err.txt "the error says what to fix"
expect_grep "lleval runs resume nf" err.txt "the error says how to go on"
n=$(cat runs/nf/results/parts/*/t0/part-*.jsonl 2>/dev/null | wc -l)
[ "$n" -eq 0 ] && ok "no 404 answer was journaled" || not_ok "$n 404 answers journaled"
python3 -c "import json; m = json.load(open('runs/nf/manifest.json')); assert m['status'] == 'stopped', m['status']" &&
	ok "404 run: status stopped, not done" || not_ok "404 run status"
expect_exit 1 "doctor on the 404 run" -- "$LLEVAL" doctor nf
expect_grep "\[wrong_endpoint\]" out.txt "names the wrong endpoint"
expect_grep "curl -sS http://127.0.0.1:$port/v1/models" out.txt "fix: list the server's models"
# the fix, then resume: the run completes
start_fake --answers answers.json --model fake-8b-q4_K_M
sed -i "s#127.0.0.1:[0-9]*#127.0.0.1:$port#" runs/nf/config.resolved.yaml
expect_exit 0 "resume after the fix completes" -- "$LLEVAL" runs resume nf -q
n=$(cat runs/nf/results/parts/*/t0/part-*.jsonl | wc -l)
[ "$n" -eq 10 ] && ok "resume asked every request again" || not_ok "resume: $n answers, wanted 10"

# connection refused: nothing listens on the port
python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])" >free.txt
free=$(cat free.txt)
config refused.yaml ollama "http://127.0.0.1:$free" "max_connect_failures: 2"
expect_exit 3 "run against a closed port" -- "$LLEVAL" run --config refused.yaml --run-id refused -q --limit_items 2
expect_exit 1 "doctor on the refused run" -- "$LLEVAL" doctor refused
expect_grep "\[connection\]" out.txt "names connection failures"
expect_grep "engine at http://127.0.0.1:$free" out.txt "names the engine's own address"
expect_grep "1) start the Ollama service: ollama serve" out.txt "the guide's first fix"
expect_grep "curl -sS http://127.0.0.1:$free/api/tags" out.txt "verify the service at its address"
expect_grep "ss -ltnp | grep ':$free'" out.txt "Linux: check the port with ss"
expect_grep "ollama pull fake-8b-q4_K_M" out.txt "verify the model download"
expect_grep "lleval runs resume refused" out.txt "then resume"

# over the context window: llama-server's HTTP 400 exceed_context_size_error
# (the server was started with a smaller context than the config says)
start_fake --answers answers.json --llamacpp --n-ctx 30
config ctx.yaml llamacpp "http://127.0.0.1:$port" "context_length: 100"
expect_exit 1 "run with prompts over the context" -- "$LLEVAL" run --config ctx.yaml --run-id ctx -q --limit_items 3
expect_exit 1 "doctor on the context run" -- "$LLEVAL" doctor ctx
expect_grep "\[context_exceeded\]" out.txt "names requests over the context window"
expect_grep "exceeds the available context size" out.txt "quotes llama-server"
expect_grep "context_length 100 -> 200" out.txt "fix: raise context_length"
if grep -q "\[request_errors\]" out.txt; then not_ok "context errors also counted as other errors"; else ok "context errors only in their rule"; fi

# reasoning: the tokens go to reasoning_content, the answer is empty (finish length)
start_fake --answers answers.json --model fake-8b-q4_K_M --reasoning-tokens 100
config think.yaml openai "http://127.0.0.1:$port/v1"
expect_exit 0 "run of a reasoning model with a small max_new_tokens" -- "$LLEVAL" run --config think.yaml --run-id think -q --limit_items 3
expect_exit 1 "doctor on the reasoning run" -- "$LLEVAL" doctor think
expect_grep "\[reasoning_empty\]" out.txt "names empty answers that went to reasoning"
expect_grep "6 answers spent max_new_tokens on reasoning" out.txt "counts them"
# the same with an inline <think> block
start_fake --answers answers.json --model fake-8b-q4_K_M --reasoning-tokens 100 --think-inline
config think.yaml openai "http://127.0.0.1:$port/v1"
expect_exit 0 "run of an inline-thinking model" -- "$LLEVAL" run --config think.yaml --run-id think2 -q --limit_items 3
expect_exit 1 "doctor on the inline-thinking run" -- "$LLEVAL" doctor think2
expect_grep "\[reasoning_empty\]" out.txt "names unclosed <think> answers"
# enough tokens: the reasoning ends and the answer follows, no finding of that kind
expect_exit 0 "run with room for the answer" -- "$LLEVAL" run --config think.yaml --set max_new_tokens=400 --run-id think3 -q --limit_items 3
expect_exit 0 "doctor on the roomy reasoning run" -- "$LLEVAL" doctor think3 --json
[ -z "$(findings)" ] && ok "reasoning with room: no finding" || not_ok "reasoning with room: $(findings)"

# multiple choice: no answer holds a letter
cat >vague.json <<'JSON'
{"capital of France": "Paris", "?": "I am not sure about that one"}
JSON
start_fake --answers vague.json --model fake-8b-q4_K_M
config vague.yaml openai "http://127.0.0.1:$port/v1"
expect_exit 0 "run with unreadable MC answers" -- "$LLEVAL" run --config vague.yaml --run-id vague -q --limit_items 10
expect_exit 1 "doctor on the unreadable MC run" -- "$LLEVAL" doctor vague
expect_grep "\[mc_unreadable\]" out.txt "names unreadable MC answers"
expect_grep "10 of 10 have no letter" out.txt "counts them"
expect_grep "answer_extraction: after_answer" out.txt "fix: answer extraction"
stop_fake

finish
