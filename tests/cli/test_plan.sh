#!/usr/bin/env bash
# End-to-end: `lleval plan` on a synthesized GGUF (the breakdown table, the verdict and
# the largest context and slot count, --json figures against the KV formula, padding,
# quantized KV, partial offload, the CPU device, exit statuses), `plan --suggest` with and
# without a model, `plan --ollama` against the fake Ollama server, and usage errors.
# Accuracy against llama.cpp itself is test_plan_accuracy.sh.
source "$(dirname "$0")/lib.sh"

fake_pid=""
stop_fake() {
	if [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2>/dev/null || true
		wait "$fake_pid" 2>/dev/null || true
		fake_pid=""
	fi
}
trap 'stop_fake; rm -rf "$work"' EXIT

# json_check FILE PYTHON-EXPRESSIONS...: each expression over d (the parsed file) must be true
json_check() {
	local file=$1 what=$2
	shift 2
	if python3 - "$file" "$@" <<'PY' 2>json_err.txt; then ok "$what"; else
import json, sys
d = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    if not eval(expr):
        sys.exit("false: %s" % expr)
PY
		not_ok "$what: $(cat json_err.txt)"
	fi
}

"$LLEVAL" synth-model -q --out m.gguf --layers 4 --embd 512 --heads 8 --kv-heads 2 --vocab 8000 \
	--ctx 8192

# ---- the breakdown -----------------------------------------------------------------
expect_exit 0 "plan a GGUF at 3000 context, 2 slots" -- "$LLEVAL" plan m.gguf --ctx 3000 --parallel 2 --vram 16GiB
expect_grep '^component  *MiB  *where$' out.txt "breakdown table header"
expect_grep '^weights  *7\.81  *cpu$' out.txt "token embeddings (8000 x 512 f16) stay on the CPU"
expect_grep '^KV cache  *6\.00  *gpu$' out.txt "KV cache: 3072 cells x 4 layers x 2 x 128 x 2 bytes"
expect_grep '^runtime overhead  *400\.00  *gpu$' out.txt "CUDA runtime overhead"
expect_grep '2 slots x 1536 context (allocates 3072)' out.txt "context padded to 256 and split across slots"
expect_grep '^fits: .* of 16384\.00 MiB VRAM' out.txt "verdict against --vram"
expect_grep '^largest context that fits: 16384; largest slot count: 256$' out.txt "largest context and slot count"
expect_grep "16.00 GiB VRAM (--vram 16GiB)" out.txt "budget source"

expect_exit 1 "a budget too small: does not fit (exit 1)" -- "$LLEVAL" plan m.gguf --vram 200MiB
expect_grep '^does not fit: ' out.txt "does-not-fit verdict"
expect_grep '^largest context that fits: 0; largest slot count: 0$' out.txt "nothing fits"
expect_exit 0 "a budget just above the need: tight" -- "$LLEVAL" plan m.gguf --vram 480MiB
expect_grep '^tight: ' out.txt "tight verdict above 90%"

# ---- JSON figures ------------------------------------------------------------------
expect_exit 0 "plan --json" -- "$LLEVAL" plan m.gguf --ctx 3000 --parallel 5 --json --vram 16GiB
cp out.txt p5.json
json_check p5.json "JSON: padding, KV formula, totals" \
	'd["settings"]["ctx_allocated"] == 3840 and d["settings"]["ctx_per_slot"] == 768' \
	'd["bytes"]["kv_total"] == 3840 * 4 * 2 * 128 * 2' \
	'd["bytes"]["kv_per_slot"] * 5 == d["bytes"]["kv_total"]' \
	'd["bytes"]["output"] == 8000 * 5 * 4' \
	'd["bytes"]["weights_gpu"] + d["bytes"]["weights_cpu"] == d["model"]["weights_bytes"]' \
	'd["bytes"]["total_gpu"] == d["bytes"]["weights_gpu"] + d["bytes"]["kv_gpu"] + d["bytes"]["compute_gpu"] + d["bytes"]["overhead"]' \
	'd["verdict"] == "fits" and d["budget_bytes"] == 16 << 30' \
	'd["model"]["layers"] == 4 and d["model"]["kv_heads"] == 2 and d["model"]["estimated"] is False'

expect_exit 0 "plan --kv-type q8_0 --json" -- "$LLEVAL" plan m.gguf --ctx 4096 --kv-type q8_0 --json
cp out.txt q8.json
json_check q8.json "q8_0 KV: 34 bytes per 32 values" \
	'd["bytes"]["kv_total"] == 4096 * 4 * 2 * 128 * 34 // 32' 'd["settings"]["kv_type"] == "q8_0"'
expect_exit 0 "plan --kv-type q4_0 --json" -- "$LLEVAL" plan m.gguf --ctx 4096 --kv-type q4_0 --json
json_check out.txt "q4_0 KV: 18 bytes per 32 values" 'd["bytes"]["kv_total"] == 4096 * 4 * 2 * 128 * 18 // 32'
expect_exit 0 "--ctx-per-slot multiplies by the slots" -- "$LLEVAL" plan m.gguf --ctx-per-slot 2048 --parallel 3 --json
json_check out.txt "--ctx-per-slot 2048 x 3" 'd["settings"]["ctx"] == 6144 and d["settings"]["ctx_per_slot"] == 2048'

expect_exit 0 "partial offload" -- "$LLEVAL" plan m.gguf --gpu-layers 2 --json
json_check out.txt "2 of 5 layers: half the KV cache on the GPU, output layer on the CPU" \
	'd["bytes"]["kv_gpu"] == d["bytes"]["kv_cpu"]' 'd["settings"]["output_on_gpu"] is False' \
	'd["settings"]["gpu_layers"] == 2 and d["settings"]["gpu_layers_of"] == 5' \
	'd["bytes"]["weights_gpu"] + d["bytes"]["weights_cpu"] == d["model"]["weights_bytes"]'

expect_exit 0 "the CPU device" -- "$LLEVAL" plan m.gguf --device cpu --vram 1GiB --json
json_check out.txt "CPU device: everything in host memory, no overhead" \
	'd["bytes"]["total_gpu"] == 0 and d["bytes"]["overhead"] == 0' \
	'd["bytes"]["total"] == d["bytes"]["total_cpu"]' 'd["settings"]["device"] == "cpu"'
expect_exit 0 "the CPU device, text" -- "$LLEVAL" plan m.gguf --device cpu --vram 1GiB
expect_grep 'none: every layer on the CPU' out.txt "CPU device described"
expect_grep 'of 1024\.00 MiB RAM' out.txt "CPU budget is RAM"

# ---- --suggest ---------------------------------------------------------------------
expect_exit 0 "plan --suggest (reference shapes)" -- "$LLEVAL" plan --suggest --vram 16GiB
for p in throughput quality stretch; do expect_grep "^$p " out.txt "preset $p"; done
expect_grep '^Llama 3.1 8B  *Q4_K_M ' out.txt "8B at Q4_K_M"
expect_grep '^Llama 2 13B  *Q3_K_M ' out.txt "13B at Q3_K_M"
expect_exit 0 "plan --suggest --json" -- "$LLEVAL" plan --suggest --vram 16GiB --json
json_check out.txt "suggest JSON" 'len(d["presets"]) == 3 and len(d["quantizations"]) == 12' \
	'[p["preset"] for p in d["presets"]] == ["throughput", "quality", "stretch"]' \
	'd["presets"][0]["settings"]["parallel"] == 2 and d["presets"][0]["settings"]["ctx_per_slot"] in (4096, 8192)' \
	'all(p["verdict"] in ("fits", "tight") for p in d["presets"])' \
	'[q["quantization"] for q in d["quantizations"][:6]] == ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_K_S", "Q3_K_M"]' \
	'd["quantizations"][0]["model"]["name"] == "Llama 3.1 8B" and d["quantizations"][6]["model"]["name"] == "Llama 2 13B"'
expect_exit 0 "plan --suggest MODEL" -- "$LLEVAL" plan --suggest m.gguf --vram 1GiB --json
json_check out.txt "suggest for the model's shape" 'len(d["quantizations"]) == 6' \
	'all(q["model"]["layers"] == 4 for q in d["quantizations"])' \
	'd["quantizations"][0]["model"]["estimated"] is True'

# ---- --ollama against the fake server ------------------------------------------------
python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_ollama.py" --port 0 >fake.out 2>fake.err &
fake_pid=$!
for _ in $(seq 50); do grep -q '^PORT ' fake.out 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^PORT //p' fake.out)
if [ -n "$port" ]; then
	url="http://127.0.0.1:$port"
	expect_exit 0 "plan --ollama TAG" -- "$LLEVAL" plan --ollama llama3.1:8b-instruct-q4_K_M --base-url "$url" --ctx-per-slot 8192 --parallel 2 --json
	json_check out.txt "Ollama: /api/show facts, weights = parameters x 4.84 bits" \
		'd["model"]["parameters"] == 8030261248 and d["model"]["quantization"] == "Q4_K_M"' \
		'd["model"]["layers"] == 32 and d["model"]["kv_heads"] == 8 and d["model"]["estimated"] is True' \
		'd["model"]["weights_bytes"] == round(8030261248 * 4.84 / 8)' \
		'd["bytes"]["kv_total"] == 2048 << 20'
	expect_exit 0 "plan --ollama TAG, text" -- "$LLEVAL" plan --ollama llama3.1:8b-instruct-q4_K_M --base-url "$url/"
	expect_grep 'weights are estimated' out.txt "estimate noted"
	expect_exit 3 "plan --ollama with a model Ollama lacks" -- "$LLEVAL" plan --ollama nope:1b --base-url "$url"
	expect_grep "pull it first" err.txt "missing model: what to do"
else
	not_ok "fake_ollama did not start: $(cat fake.err)"
fi
stop_fake
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
expect_exit 3 "plan --ollama with nothing listening" -- "$LLEVAL" plan --ollama x --base-url "http://127.0.0.1:$port"
expect_grep "ollama serve" err.txt "unreachable Ollama: what to do"

# ---- usage errors ------------------------------------------------------------------
expect_exit 2 "no model" -- "$LLEVAL" plan
expect_exit 2 "two models" -- "$LLEVAL" plan m.gguf m.gguf
expect_exit 2 "--ctx and --ctx-per-slot" -- "$LLEVAL" plan m.gguf --ctx 4096 --ctx-per-slot 4096
expect_exit 2 "unknown KV type" -- "$LLEVAL" plan m.gguf --kv-type q3_k
expect_grep "f16, q8_0 or q4_0" err.txt "KV type choices named"
expect_exit 2 "quantized V without flash attention" -- "$LLEVAL" plan m.gguf --kv-type q8_0 --flash-attn off
expect_grep "flash attention" err.txt "flash attention named"
expect_exit 2 "bad --vram" -- "$LLEVAL" plan m.gguf --vram lots
expect_exit 2 "bad --device" -- "$LLEVAL" plan m.gguf --device tpu
expect_exit 2 "slots out of range" -- "$LLEVAL" plan m.gguf --parallel 0
expect_exit 2 "a file and --ollama" -- "$LLEVAL" plan m.gguf --ollama x
expect_exit 4 "a missing file" -- "$LLEVAL" plan nosuch.gguf
printf 'not a gguf file at all, just text\n' >bad.gguf
expect_exit 2 "not a GGUF file" -- "$LLEVAL" plan bad.gguf
expect_exit 0 "plan --help" -- "$LLEVAL" plan --help
expect_grep "ctx-per-slot" out.txt "help lists the options"

finish
