#!/usr/bin/env bash
# The README's main job: a real evaluation end to end on a real engine.
# lleval starts llama.cpp's llama-server itself (examples/quickstart.yaml has a
# launch section) and evaluates a model on the sample datasets in examples/data.
#
#   scripts/quickstart.sh [LLEVAL] [MODEL.gguf]
#
# LLEVAL is the lleval binary (default build/lleval). Without MODEL, a small
# model with random weights is made once with `lleval synth-model` (quantized to
# Q4_K_M with llama-quantize) into the cache ($LLEVAL_CACHE, else
# $XDG_CACHE_HOME/lleval, else ~/.cache/lleval): it shows the whole pipeline, but
# its scores are near zero. Give a real GGUF as MODEL for real scores.
# llama-server comes from scripts/provision-llama.sh (built once into the same cache).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lleval="${1:-$root/build/lleval}"
model="${2:-}"
case "$lleval" in /*) ;; *) lleval="$PWD/$lleval" ;; esac
case "$model" in /* | "") ;; *) model="$PWD/$model" ;; esac
cd "$root"

if [ ! -x "$lleval" ]; then
	echo "quickstart: '$lleval' is not built yet: run 'make' first" >&2
	exit 2
fi
if [ -n "$model" ] && [ ! -f "$model" ]; then
	echo "quickstart: model '$model' does not exist" >&2
	exit 2
fi

bindir=$(bash scripts/provision-llama.sh | tail -n 1) || {
	echo "quickstart: could not provision llama-server (see above); for a run without a model:" >&2
	echo "  $lleval run --config examples/quickstart-dry.yaml" >&2
	exit 3
}
export LLEVAL_LLAMA_BIN_DIR="$bindir"

synthetic=false
if [ -z "$model" ]; then
	synthetic=true
	cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
	model="$cache/models/quickstart-q4_k_m.gguf"
	if [ ! -f "$model" ]; then
		mkdir -p "$(dirname "$model")"
		echo "quickstart: making a random-weight model with lleval synth-model: $model"
		"$lleval" synth-model --out "$model" --layers 4 --embd 256 --heads 8 --vocab 4096 \
			--ctx 4096 --quantize q4_k_m --name lleval-quickstart
	fi
fi

run_id="quickstart_$(date -u +%Y%m%d_%H%M%S)"
status=0
"$lleval" run --config examples/quickstart.yaml --set "launch.model=$model" --run-id "$run_id" ||
	status=$?

run="runs/$run_id"
echo
echo "quickstart: the run is in $root/$run"
echo "  results/predictions.csv   one row per answer (prediction, finish_reason, latency, tokens/s)"
echo "  results/scores.json       EM / F1 / accuracy per dataset with confidence intervals"
echo "  manifest.json             job counts, timings and status per trial"
echo "  logs/llama-server.log     the server lleval started, stopped and (had it crashed) restarted"
if $synthetic; then
	echo
	echo "The model has random weights, so it answers gibberish and scores near zero: this"
	echo "run shows the whole pipeline on a real engine, not a model. For real scores run"
	echo "  scripts/quickstart.sh $lleval /path/to/model.gguf      (a real GGUF, e.g. Llama 3.1 8B Q4_K_M)"
	echo "or point examples/quickstart.yaml at Ollama: engine: ollama, model_id: an Ollama tag"
	echo "such as llama3.1:8b-instruct-q4_K_M, and no launch section."
fi
exit "$status"
