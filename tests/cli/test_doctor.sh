#!/usr/bin/env bash
# lleval doctor names each injected fault (fake Ollama, fake NVML) with its
# evidence and the guide's fixes, and is silent on a healthy run.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the fake Ollama"; exit 0; }

fake_pid=""
stop_fake() { if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; fi; fake_pid=""; }
trap 'stop_fake; rm -rf "$work"' EXIT
start_fake() {
	stop_fake
	# the previous fake's PORT line must not be read before this one's redirection empties
	# the file (the shell forks, then opens it): fake_port would take a stale or empty port
	rm -f fake.out
	python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_ollama.py" --port 0 "$@" >fake.out 2>fake.err &
	fake_pid=$!
	port=$(fake_port fake.out "$fake_pid")
	[ -n "$port" ] || { echo "cannot start the fake engine:" >&2; cat fake.err >&2; exit 1; }
}
config() { # config NAME [extra yaml lines...]
	local name=$1
	shift
	{
		echo "engine: ollama"
		echo "model_id: llama3.1:8b-instruct-q4_K_M"
		echo "base_url: http://127.0.0.1:$port"
		echo "max_retries: 0"
		echo "max_new_tokens: {closed_book: 64, open_book: 64, multiple_choice: 16}"
		for line in "$@"; do echo "$line"; done
		echo "datasets:"
		echo "  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}"
		echo "  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}"
	} >"$name"
}
cat >answers.json <<'JSON'
{"capital of France": "Paris", "prime": "C", "multiplied by 8": "B", "pumps blood": "A",
 "electrical resistance": "D", "last-in": "B", "main gas": "C", "90 degrees": "A",
 "a mammal": "B", "decimal number 5": "D", "beneath the crust": "C"}
JSON

# healthy: short answers at 50 tokens/s
start_fake --answers answers.json
config healthy.yaml
expect_exit 0 "healthy run" -- "$LLEVAL" run --config healthy.yaml --run-id healthy -q --limit_items 6
expect_exit 0 "doctor on a healthy run" -- "$LLEVAL" doctor healthy
expect_grep "looks healthy" out.txt "doctor says healthy"
expect_exit 0 "doctor --json on a healthy run" -- "$LLEVAL" doctor healthy --json
python3 -c "import json; d = json.load(open('out.txt')); assert d['healthy'] and not d['findings'], d" &&
	ok "--json: healthy, no findings" || not_ok "--json healthy"

# parser mismatch: a duplicated and an unknown result line in a journal
cp -r runs/healthy runs/mangled
j=$(ls runs/mangled/results/parts/sample_closed/t0/part-001.jsonl)
head -n 1 "$j" >>"$j"
head -n 1 "$j" | sed 's/sample_closed:nq-00001/sample_closed:nq-99999/g' >>"$j"
expect_exit 1 "doctor on mangled journals" -- "$LLEVAL" doctor mangled
expect_grep "\[parse_mismatch\]" out.txt "names the parse mismatch"
expect_grep "duplicate: sample_closed:nq-00001:direct:t0:s0" out.txt "cites the duplicate custom_id"
expect_grep "unknown: sample_closed:nq-99999" out.txt "cites the unknown custom_id"
expect_grep "custom_id echoing" out.txt "gives the guide's fix"

# out of memory: every generation answers HTTP 500 with Ollama's OOM text
start_fake --answers answers.json --error-500-every 1
config oom.yaml "context_length: 8192"
expect_exit 1 "run against an out-of-memory engine" -- "$LLEVAL" run --config oom.yaml --run-id oom -q --limit_items 3
expect_exit 1 "doctor on the OOM run" -- "$LLEVAL" doctor oom
expect_grep "\[oom\]" out.txt "names out of memory"
expect_grep "out of memory: 6 requests failed" out.txt "counts the OOM failures"
expect_grep "custom_ids: sample_closed:nq-00001" out.txt "cites custom_ids"
expect_grep "1) context_length 8192 -> 4096" out.txt "first fix: reduce the context"
expect_grep "2) lower the quantization: model_id llama3.1:8b-instruct-q4_K_M (q4_k_m) -> the Q4_K_S" out.txt "second fix: lower quantization"
expect_grep "switch to a 7B model" out.txt "fix: smaller model"
# with the model file, the planner's numbers: 4 layers x 4 KV heads x 64 dims x K+V x f16
# = 4 KiB per token: 8192 -> 4096 tokens frees 16 MiB
expect_exit 0 "synth a model for the planner" -- "$LLEVAL" synth-model --out m.gguf --layers 4 --embd 256 --heads 4 --ctx 8192
expect_exit 1 "doctor --model-gguf" -- "$LLEVAL" doctor oom --model-gguf m.gguf
expect_grep "1) context_length 8192 -> 4096 frees 16 MiB of KV cache (32 -> 16 MiB)" out.txt "fix cites the planner's KV numbers"

# slow generation: 3 tokens/s for an 8B model
start_fake --answers answers.json --gen-tps 3
config slow.yaml
expect_exit 0 "run against a slow engine" -- "$LLEVAL" run --config slow.yaml --run-id slow -q --limit_items 3
expect_exit 1 "doctor on the slow run" -- "$LLEVAL" doctor slow
expect_grep "\[slow_generation\]" out.txt "names slow generation"
expect_grep "3.0 tokens/s on average" out.txt "cites the measured speed"
expect_grep "top_k 50 -> 20" out.txt "first fix: lower top_k"
if grep -q "\[oom\]\|\[truncation\]\|\[connection\]" out.txt; then not_ok "slow run: other findings"; else ok "slow run: only the slow finding"; fi

# truncation: max_new_tokens 2 for chatty answers
start_fake
config trunc.yaml
expect_exit 0 "run with tiny max_new_tokens" -- "$LLEVAL" run --config trunc.yaml --set max_new_tokens=2 --run-id trunc -q --limit_items 4
expect_exit 1 "doctor on the truncated run" -- "$LLEVAL" doctor trunc
expect_grep "\[truncation\]" out.txt "names truncation"
expect_grep "max_new_tokens.closed_book 2 -> 4" out.txt "fix: raise max_new_tokens"

# several models in one run: each model's trials are counted and named apart
start_fake --model alpha:1b --model beta:1b
config multi.yaml
sed -i '/^model_id:/d' multi.yaml
printf 'models:\n  - id: alpha:1b\n  - id: beta:1b\n' >>multi.yaml
expect_exit 0 "run of two models with tiny max_new_tokens" -- "$LLEVAL" run --config multi.yaml --set max_new_tokens=2 --run-id multi -q --limit_items 4
expect_exit 1 "doctor on the two-model run" -- "$LLEVAL" doctor multi --json
python3 - out.txt <<'PY' && ok "doctor: one trial per model and dataset, named by the model id" || not_ok "doctor: per-model trials"
import json, sys
d = json.load(open(sys.argv[1]))
names = sorted(t["trial"] for t in d["facts"]["trials"])
assert names == ["alpha:1b/sample_closed/t0", "alpha:1b/sample_mc/t0",
                 "beta:1b/sample_closed/t0", "beta:1b/sample_mc/t0"], names
titles = [f["title"] for f in d["findings"] if f["kind"] == "truncation"]
assert len(titles) == 4 and any(" in beta:1b/sample_closed/t0:" in t for t in titles), titles
PY

# two models, each with its own problem: the 13B q8_0 is out of memory, the 8B is slow;
# each finding and its fixes name the model it is about
start_fake --answers answers.json --model big-13b-q8_0 --model small-8b-q4_K_M --oom-model big-13b-q8_0 --gen-tps 3
config two.yaml "max_concurrent_jobs: 2"
sed -i '/^model_id:/d' two.yaml
printf 'models:\n  - id: big-13b-q8_0\n  - id: small-8b-q4_K_M\n' >>two.yaml
expect_exit 1 "run of two models, one out of memory" -- "$LLEVAL" run --config two.yaml --run-id two -q --limit_items 3
expect_exit 1 "doctor on the two-model run" -- "$LLEVAL" doctor two
expect_grep "^1. model big-13b-q8_0: out of memory: 6 requests failed" out.txt "the OOM finding names the model out of memory"
expect_grep "2) lower the quantization: model_id big-13b-q8_0 (q8_0) -> the Q6_K build" out.txt "the quantization fix is that model's"
expect_grep "4) switch to an 8B model" out.txt "the smaller-model fix follows that model's size"
expect_grep "^2. model small-8b-q4_K_M: slow generation: 3.0 tokens/s on average, under the guide's 15-25 tokens/s for an 8B" out.txt "the slow finding names the slow model, by its size"
if grep -q "model small-8b-q4_K_M: out of memory\|model big-13b-q8_0: slow\|model_id small-8b-q4_K_M" out.txt; then
	not_ok "a finding or fix names the wrong model"
else ok "no finding or fix names the other model"; fi
expect_exit 1 "doctor --json on the two-model run" -- "$LLEVAL" doctor two --json
python3 - out.txt <<'PY' && ok "--json: each finding's model; facts.models lists both" || not_ok "--json of two models"
import json, sys
d = json.load(open(sys.argv[1]))
kinds = [(f["kind"], f.get("model")) for f in d["findings"]]
assert kinds == [("oom", "big-13b-q8_0"), ("slow_generation", "small-8b-q4_K_M")], kinds
f = d["facts"]
assert f["model_id"] == "big-13b-q8_0" and f["oom_errors"] == 6, f
ms = {m["model_id"]: m for m in f["models"]}
assert list(ms) == ["big-13b-q8_0", "small-8b-q4_K_M"], list(ms)
assert ms["big-13b-q8_0"]["oom_errors"] == 6 and ms["big-13b-q8_0"]["ok"] == 0
assert ms["small-8b-q4_K_M"]["oom_errors"] == 0 and ms["small-8b-q4_K_M"]["ok"] == 6
assert abs(ms["small-8b-q4_K_M"]["gen_tps_mean"] - 3.0) < 0.01 and ms["big-13b-q8_0"]["gen_tps_mean"] is None
assert ms["small-8b-q4_K_M"]["trials"] == ["small-8b-q4_K_M/sample_closed/t0", "small-8b-q4_K_M/sample_mc/t0"]
PY
expect_grep "<h3>model big-13b-q8_0: out of memory" runs/two/report.html "report.html's Doctor section names the model"
expect_grep "<dt>models</dt><dd>big-13b-q8_0, small-8b-q4_K_M</dd>" runs/two/report.html "report.html's header lists both models"
expect_grep '^2\. \*\*model small\\-8b\\-q4\\_K\\_M\\: slow generation' runs/two/report.md "report.md's Doctor section names the model"

# connection failures: the engine drops every connection
start_fake --drop-every 1
config conn.yaml "max_connect_failures: 3"
expect_exit 3 "run against an engine that drops connections" -- "$LLEVAL" run --config conn.yaml --set max_retries=1 --run-id conn -q --limit_items 3
expect_exit 1 "doctor on the connection run" -- "$LLEVAL" doctor conn
expect_grep "\[connection\]" out.txt "names connection failures"
expect_grep "ollama serve" out.txt "fix: start ollama serve"
expect_grep "lleval runs resume conn" out.txt "fix: resume the run"

# telemetry (fake NVML): memory near the limit, a hot and underused GPU -- and a healthy GPU
if [ -n "${LLEVAL_FAKE_NVML:-}" ] && [ -f "${LLEVAL_FAKE_NVML:-}" ]; then
	start_fake --answers answers.json --delay-ms 120
	config gpu.yaml "enable_local_telemetry: true" "telemetry_interval_ms: 50"
	printf '15000 30 80 250\n15950 35 91 260\n15800 30 88 255\n' >hot.txt
	LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML LLEVAL_FAKE_NVML_SCRIPT=$PWD/hot.txt \
		expect_exit 0 "run on a hot, full, underused GPU" -- "$LLEVAL" run --config gpu.yaml --run-id hot -q --limit_items 4
	expect_exit 1 "doctor on the hot run" -- "$LLEVAL" doctor hot
	expect_grep "\[memory_near_limit\]" out.txt "names memory near the limit"
	expect_grep "peak 15950 of 16303 MiB" out.txt "cites the memory peak"
	expect_grep "\[high_temperature\]" out.txt "names the high temperature"
	expect_grep "peak 91 C" out.txt "cites the temperature peak"
	expect_grep "\[low_gpu_utilization\]" out.txt "names low GPU utilization"
	printf '12000 90 70 250\n12500 92 72 260\n' >cool.txt
	LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML LLEVAL_FAKE_NVML_SCRIPT=$PWD/cool.txt \
		expect_exit 0 "run on a healthy GPU" -- "$LLEVAL" run --config gpu.yaml --run-id cool -q --limit_items 4
	expect_exit 0 "doctor on the healthy GPU run" -- "$LLEVAL" doctor cool
	expect_grep "looks healthy" out.txt "healthy telemetry gives no finding"
else
	echo "SKIP: telemetry faults (LLEVAL_FAKE_NVML not set)"
fi
stop_fake

expect_exit 2 "doctor on an unknown run" -- "$LLEVAL" doctor nosuch
expect_exit 2 "doctor with a path as run id" -- "$LLEVAL" doctor ../x
finish
