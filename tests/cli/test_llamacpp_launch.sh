#!/usr/bin/env bash
# Integration: lleval starting the REAL llama-server itself (engine llamacpp with a
# `launch:` section): the argv it builds (defaults and explicit keys), the log and
# pid file, the URL kept out of config.resolved.yaml, the server stopped at the end
# of a finished, an interrupted (SIGINT) and a failed run (a killed lleval:
# test_orphan.sh), clear exit-3 errors for a missing model, a bad
# binary and a file llama-server cannot load (quoting its log), and a whole run on a
# model made by `lleval synth-model`. Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

journal() { echo "runs/$1/results/parts/sample_closed/t0/part-001.jsonl"; }
# alive PID: the process exists and is not a zombie waiting for init to reap it
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
stopped_pid() { sed -n 's/^--- lleval: stopping llama-server pid \([0-9]*\)$/\1/p' "runs/$1/logs/llama-server.log" | tail -n 1; }

# ---- defaults: -c context_length x slots, -np max_concurrent_jobs --------------------------------
llama_config d.yaml "" 8 "max_concurrent_jobs: 2" "launch: {model: \"$model\"}"
expect_exit 0 "managed: run with the default launch keys" -- \
	"$LLEVAL" run --config d.yaml --run-id d --limit_items 3
check_results runs/d 3 && ok "managed: 3 answers" || not_ok "managed: results"
log=runs/d/logs/llama-server.log
expect_grep "^--- lleval: start 1 of llama-server at .* on port [0-9]*: " "$log" "managed: the log has a start header"
expect_grep " -m $model --host 127.0.0.1 --port [0-9]* -c 1024 -np 2 --metrics$" "$log" \
	"managed: argv -c 1024 (context_length 512 x 2 slots) -np 2 --metrics"
expect_grep "llama-server pid [0-9]* listening at http://127.0.0.1:" err.txt "managed: says where the server listens"
expect_grep "2 slots of 512 tokens" err.txt "managed: the probe sees 2 slots of 512 tokens"
grep -q "127.0.0.1" runs/d/config.resolved.yaml && not_ok "managed: the server URL leaked into config.resolved.yaml" ||
	ok "managed: config.resolved.yaml has no server URL"
expect_grep "^base_url: null" runs/d/config.resolved.yaml "managed: base_url stays null in the saved config"
pid=$(stopped_pid d)
[ -n "$pid" ] && ! alive "$pid" && ok "managed: server pid $pid stopped at the end" ||
	not_ok "managed: server '$pid' not stopped"
[ ! -e runs/d/logs/llama-server.pid ] && ok "managed: pid file removed" || not_ok "managed: pid file left"

# ---- explicit keys: binary (a directory), parallel, ctx_size, gpu_layers, extra_args; slot clamp ----
bindir=$(dirname "$llama_bin")
llama_config e.yaml "" 8 "max_concurrent_jobs: 3" \
	"launch: {model: \"$model\", binary: \"$bindir\", parallel: 1, ctx_size: 768, gpu_layers: 0, extra_args: [--threads, \"1\"]}"
expect_exit 0 "managed: explicit launch keys" -- "$LLEVAL" run --config e.yaml --run-id e --limit_items 3
expect_grep "^--- lleval: start 1 of llama-server .*: $llama_bin -m $model --host 127.0.0.1 --port [0-9]* -c 768 -np 1 -ngl 0 --metrics --threads 1$" \
	runs/e/logs/llama-server.log "managed: argv with -c 768 -np 1 -ngl 0 and the extra args last"
expect_grep "max_concurrent_jobs 3 clamped to 1" err.txt "managed: launch.parallel 1 clamps max_concurrent_jobs"
check_results runs/e 3 && ok "managed: explicit keys: 3 answers" || not_ok "managed: explicit keys: results"

# ---- SIGINT: a graceful, resumable stop that also stops the server --------------------------------
llama_config i.yaml "" 128 "launch: {model: \"$model\"}"
"$LLEVAL" run --config i.yaml --run-id i --limit_items 10 >i.out 2>i.err &
run_pid=$!
bg_pids+=("$run_pid")
wait_results "$(journal i)" 1 60 || not_ok "sigint: no answer within 60 s"
server=$(cat runs/i/logs/llama-server.pid 2>/dev/null || true)
kill -INT "$run_pid"
rc=0
wait "$run_pid" || rc=$?
[ "$rc" -eq 130 ] && ok "sigint: exit 130" || { not_ok "sigint: exit $rc, wanted 130"; sed 's/^/    /' i.err; }
alive "$server" && not_ok "sigint: llama-server $server still runs" || ok "sigint: llama-server $server stopped"
expect_exit 0 "sigint: the run resumes and completes" -- "$LLEVAL" run --config i.yaml --run-id i -q
check_results runs/i 10 && ok "sigint: every result exactly once" || not_ok "sigint: results"

# ---- lleval killed (SIGKILL): its server dies with it, and the orphan check: test_orphan.sh -----

# ---- errors: exit 3 with a message that says what to do -----------------------------------------
llama_config nm.yaml "" 8 "launch: {model: no/such/model.gguf}"
expect_exit 3 "missing model -> exit 3" -- "$LLEVAL" run --config nm.yaml --run-id nm -q
expect_grep "launch.model 'no/such/model.gguf' is not a readable file" err.txt "missing model: named, with the fix"

llama_config nb.yaml "" 8 "launch: {model: \"$model\", binary: /no/such/llama-server}"
expect_exit 3 "bad launch.binary -> exit 3" -- "$LLEVAL" run --config nb.yaml --run-id nb -q
expect_grep "launch.binary '/no/such/llama-server' is not an executable file" err.txt "bad binary: named"

echo "this is not a gguf file" >bad.gguf
llama_config bad.yaml "" 8 "launch: {model: bad.gguf}"
expect_exit 3 "a file llama-server cannot load -> exit 3" -- "$LLEVAL" run --config bad.yaml --run-id bad -q
expect_grep "llama-server exited (exit status [0-9]*) before it was ready; its log 'runs/bad/logs/llama-server.log' ends: .*load" \
	err.txt "unloadable model: the error quotes the server's log"
[ ! -e runs/bad/logs/llama-server.pid ] && ok "unloadable model: no pid file left" || not_ok "unloadable model: pid file left"

sed 's/^engine: llamacpp/engine: ollama/' d.yaml >ol.yaml
expect_exit 2 "launch with engine ollama -> config error" -- "$LLEVAL" run --config ol.yaml --run-id ol -q
expect_grep "needs 'engine: llamacpp'" err.txt "launch with another engine: says why"

# ---- a model made by lleval synth-model, all three sample datasets ------------------------------
if synth_model syn.gguf; then
	cat >syn.yaml <<YAML
engine: llamacpp
model_id: synth
temps: [0.0]
context_length: 1024
max_new_tokens: {closed_book: 8, open_book: 8, multiple_choice: 4}
max_concurrent_jobs: 2
launch: {model: syn.gguf}
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
	expect_exit 0 "synth-model: managed run on a synthesized model" -- \
		"$LLEVAL" run --config syn.yaml --run-id syn --limit_items 2 -q
	check_results runs/syn 6 && ok "synth-model: 6 answers over 3 datasets" || not_ok "synth-model: results"
	python3 - runs/syn <<'PY' && ok "synth-model: every answer runs to its token limit (finish_reason length), gen_tps > 0" ||
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/results/predictions.csv", newline="")))
assert all(r["finish_reason"] == "length" for r in rows), [r["finish_reason"] for r in rows]
for l in open(sys.argv[1] + "/results/results_combined.jsonl"):
    assert json.loads(l)["lleval"]["gen_tps"] > 0
PY
		not_ok "synth-model: finish reasons or timings"
else
	not_ok "lleval synth-model could not write a model"
fi

finish
