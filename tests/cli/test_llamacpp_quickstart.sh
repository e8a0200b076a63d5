#!/usr/bin/env bash
# Integration: the README's main job, scripts/quickstart.sh, end to end on the REAL
# llama-server: it makes a random-weight Q4_K_M model with `lleval synth-model` into
# the cache (a temp dir here), runs examples/quickstart.yaml with lleval managing
# llama-server, scores, and says where the run is and that random weights score near
# zero. Skips cleanly without llama-server (or without llama-quantize next to it).
source "$(dirname "$0")/llama_lib.sh"

[ -x "$LLEVAL_LLAMA_BIN_DIR/llama-quantize" ] ||
	skip_all "no llama-quantize next to $llama_bin (the quickstart model is quantized)"

# a copy of the scripts and examples: the quickstart writes runs/ and data/ where it lives
mkdir -p qs
cp -r "$LLEVAL_SOURCE_DIR/scripts" "$LLEVAL_SOURCE_DIR/examples" qs/
export LLEVAL_CACHE="$work/cache"
# provision-llama.sh does nothing when llama-server is on PATH
expect_exit 0 "scripts/quickstart.sh runs the real-engine quickstart" -- \
	env PATH="$LLEVAL_LLAMA_BIN_DIR:$PATH" bash qs/scripts/quickstart.sh "$LLEVAL"
[ -f cache/models/quickstart-q4_k_m.gguf ] && ok "the model was synthesized into the cache" ||
	not_ok "no model in the cache"
"$LLEVAL" gguf info cache/models/quickstart-q4_k_m.gguf >info.txt 2>&1 || true
expect_grep "Q4_K_M" info.txt "the quickstart model is Q4_K_M"
run=$(ls -d qs/runs/quickstart_* 2>/dev/null | head -n 1)
if [ -n "$run" ]; then
	ok "the run is $run"
	check_results "$run" 15 && ok "15 answers (5 items x 3 datasets), each once" || not_ok "quickstart results"
	[ -f "$run/results/scores.json" ] && ok "scores.json written" || not_ok "no scores.json"
	expect_grep "start 1 of llama-server" "$run/logs/llama-server.log" "the managed server's log is in the run"
	python3 -c "import json; m = json.load(open('$run/manifest.json')); assert m['status'] == 'done' and m['engine'] == 'llamacpp', m" &&
		ok "manifest: done on engine llamacpp" || not_ok "manifest status"
else
	not_ok "no run directory under qs/runs"
fi
expect_grep "quickstart: the run is in .*/runs/quickstart_" out.txt "says where the run is"
expect_grep "random weights" out.txt "says the model has random weights"
expect_grep "scores near zero" out.txt "says the scores are near zero"
expect_grep "sample_closed" out.txt "prints the scores table"

# the dry quickstart is still there and still works
expect_exit 0 "the dry quickstart still runs" -- \
	"$LLEVAL" run --config examples/quickstart-dry.yaml --run-id dry -q

finish
