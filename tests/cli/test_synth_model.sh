#!/usr/bin/env bash
# End-to-end: `lleval synth-model` writes models that `lleval gguf info` describes and,
# when llama.cpp's llama-server is available, that it really loads, tokenizes, completes
# and chats with, also after llama-quantize (q8_0, q4_k_m). Without llama-server the
# engine part prints a skip message and the test still passes.
set -euo pipefail

: "${LLEVAL:?set LLEVAL to the lleval binary}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/lleval-synth-test.XXXXXX")"
server_pid=""

stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}
cleanup() {
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_status WANT CMD...: runs CMD, checks its exit status, keeps stderr in $tmp/err.
expect_status() {
	local want="$1" got=0
	shift
	"$@" >"$tmp/out" 2>"$tmp/err" || got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want: $(cat "$tmp/err")"
}

expect_err() {
	grep -qF -- "$1" "$tmp/err" || fail "stderr lacks '$1': $(cat "$tmp/err")"
}

# ---- synth-model and gguf info ---------------------------------------------------

model="$tmp/m.gguf"
"$LLEVAL" synth-model --out "$model" --layers 2 --embd 64 --heads 4 --kv-heads 2 --vocab 1024 \
	--ctx 2048 >"$tmp/out"
grep -q "^wrote $model: llama, 2 layers, embd 64, 4 heads (2 kv), ff 256, vocab 1024" "$tmp/out" ||
	fail "unexpected synth-model output: $(cat "$tmp/out")"

"$LLEVAL" gguf info "$model" >"$tmp/info"
for line in "architecture    llama" "name            lleval-synth" "file type       F16" \
	"context length  2048" "embedding       64" "layers          2" "heads           4" \
	"kv heads        2" "head dim        16" "feed forward    256" "vocab size      1024" \
	"tensors         21"; do
	grep -qF "$line" "$tmp/info" || fail "gguf info lacks '$line':
$(cat "$tmp/info")"
done
grep -qE '^type +tensors +bytes +%$' "$tmp/info" || fail "no quantization table: $(cat "$tmp/info")"
grep -qE '^F16 +16 ' "$tmp/info" || fail "no F16 row: $(cat "$tmp/info")"

"$LLEVAL" gguf info --json "$model" >"$tmp/info.json"
python3 - "$tmp/info.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
e, v, ff, layers, kv = 64, 1024, 256, 2, 2 * 16
params = 2 * v * e + e + layers * (2 * e + 2 * e * e + 2 * e * kv + 3 * e * ff)
want = {"architecture": "llama", "name": "lleval-synth", "file_type": "F16", "layers": 2,
        "embedding_length": 64, "heads": 4, "kv_heads": 2, "head_dim": 16, "vocab_size": 1024,
        "context_length": 2048, "feed_forward_length": 256, "tensors": 21, "parameters": params}
for k, w in want.items():
    assert d[k] == w, (k, d[k], w)
types = {q["type"]: q for q in d["quantization"]}
assert set(types) == {"F16", "F32"}, types
assert types["F32"]["tensors"] == 5 and types["F16"]["tensors"] == 16
assert abs(sum(q["percent"] for q in d["quantization"]) - 100) < 0.1
assert d["tensor_bytes"] == sum(q["bytes"] for q in d["quantization"])
PY

# Same options and seed: same bytes; another seed: other bytes.
"$LLEVAL" synth-model -q --out "$tmp/a.gguf" --vocab 300 --embd 16 --type f32
"$LLEVAL" synth-model -q --out "$tmp/b.gguf" --vocab 300 --embd 16 --type f32
"$LLEVAL" synth-model -q --out "$tmp/c.gguf" --vocab 300 --embd 16 --type f32 --seed 9
cmp -s "$tmp/a.gguf" "$tmp/b.gguf" || fail "same seed gave different files"
if cmp -s "$tmp/a.gguf" "$tmp/c.gguf"; then fail "different seeds gave the same file"; fi

# Errors: usage (2), bad files (2), missing files (4), missing llama-quantize (3).
expect_status 2 "$LLEVAL" synth-model --layers 2
expect_err "--out FILE is required"
expect_status 2 "$LLEVAL" synth-model --out "$tmp/x.gguf" --heads 5
expect_err "--heads 5 must divide --embd 64"
expect_status 2 "$LLEVAL" synth-model --out "$tmp/x.gguf" --type q4
expect_err "use f32 or f16"
expect_status 2 "$LLEVAL" synth-model --out "$tmp/x.gguf" --vocab 100
expect_status 2 "$LLEVAL" synth-model --out "$tmp/x.gguf" --quantize q9_z
expect_err "not supported"
expect_status 3 "$LLEVAL" synth-model --out "$tmp/x.gguf" --quantize q8_0 --quantize-bin /nonexistent
expect_err "is not an executable llama-quantize"
[ ! -e "$tmp/x.gguf" ] || fail "a failed synth-model left $tmp/x.gguf"
expect_status 4 "$LLEVAL" gguf info "$tmp/missing.gguf"
expect_err "missing.gguf"
printf 'not a model at all\n' >"$tmp/text.gguf"
expect_status 2 "$LLEVAL" gguf info "$tmp/text.gguf"
expect_err "not a GGUF file"
head -c 1000 "$model" >"$tmp/cut.gguf"
expect_status 2 "$LLEVAL" gguf info "$tmp/cut.gguf"
expect_err "cut.gguf': truncated at offset"
expect_status 2 "$LLEVAL" gguf info
expect_status 2 "$LLEVAL" gguf frobnicate "$model"

# ---- llama-server ------------------------------------------------------------------

cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
server=""
for dir in "${LLEVAL_LLAMA_BIN_DIR:-}" "$cache/llama.cpp-nlc-3.21.1/bin"; do
	if [ -n "$dir" ] && [ -x "$dir/llama-server" ]; then
		server="$dir/llama-server"
		break
	fi
done
if [ -z "$server" ] && command -v llama-server >/dev/null 2>&1; then
	server="$(command -v llama-server)"
fi
if [ -z "$server" ]; then
	echo "SKIP: llama-server not found (LLEVAL_LLAMA_BIN_DIR, $cache/llama.cpp-nlc-3.21.1/bin, PATH);" \
		"run scripts/provision-llama.sh to test synthesized models against the real engine"
	exit 0
fi
bindir="$(dirname "$server")"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_server MODEL: starts llama-server on a free loopback port and waits for /health.
start_server() {
	port="$(free_port)"
	"$server" -m "$1" -c 256 -np 1 --host 127.0.0.1 --port "$port" >"$tmp/server.log" 2>&1 &
	server_pid=$!
	python3 - "$port" "$server_pid" <<'PY' || fail "llama-server did not become healthy: $(tail -20 "$tmp/server.log")"
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("llama-server exited")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.5)
sys.exit("timed out")
PY
}

# check_engine: tokenize, complete and chat against the running server.
check_engine() {
	python3 - "$port" <<'PY' || fail "engine check failed; server log: $(tail -20 "$tmp/server.log")"
import json, sys, urllib.request
port = sys.argv[1]

def post(path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)

toks = post("/tokenize", {"content": "What is the answer? The answer is yes."})["tokens"]
assert len(toks) >= 3, toks
# Whole words of the vocabulary are single tokens ("▁the" is in the vocabulary).
assert len(post("/tokenize", {"content": "the"})["tokens"]) == 1
text = post("/detokenize", {"tokens": toks})["content"]
assert "The answer is yes." in text, text

c = post("/completion", {"prompt": "Question: who wrote it?\nAnswer:", "n_predict": 8,
                         "temperature": 0})
assert isinstance(c["content"], str) and c["content"].strip(), c
t = c["timings"]
assert t["predicted_n"] >= 1 and t["prompt_n"] >= 1, t
assert "predicted_per_second" in t and "prompt_ms" in t, t

r = post("/v1/chat/completions", {"messages": [{"role": "system", "content": "Answer briefly."},
                                               {"role": "user", "content": "Who wrote Hamlet?"}],
                                  "max_tokens": 8, "temperature": 0})
ch = r["choices"][0]
assert ch["message"]["role"] == "assistant", r
assert isinstance(ch["message"]["content"], str) and ch["message"]["content"].strip(), r
assert ch["finish_reason"] in ("length", "stop"), r
assert r["usage"]["completion_tokens"] >= 1 and r["usage"]["prompt_tokens"] > 10, r
PY
}

start_server "$model"
check_engine
stop_server
echo "llama-server: f16 model loads, tokenizes, completes and chats"

# The smallest vocabulary (special and byte tokens only) still generates valid text.
"$LLEVAL" synth-model -q --out "$tmp/bytes.gguf" --vocab 259 --type f32 --embd 32 --heads 2
start_server "$tmp/bytes.gguf"
python3 - "$port" <<'PY' || fail "byte-vocabulary model failed; server log: $(tail -20 "$tmp/server.log")"
import json, sys, urllib.request
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/completion",
                             data=json.dumps({"prompt": "abc", "n_predict": 8}).encode(),
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    c = json.load(r)
assert c["content"] and all(" " <= ch <= "~" for ch in c["content"]), c
PY
stop_server
echo "llama-server: byte-vocabulary f32 model completes with printable text"

if [ ! -x "$bindir/llama-quantize" ]; then
	echo "SKIP: no llama-quantize beside $server; quantized models not tested"
	exit 0
fi
for q in q8_0 q4_k_m; do
	"$LLEVAL" synth-model -q --out "$tmp/m-$q.gguf" --embd 256 --heads 4 --kv-heads 2 \
		--quantize "$q" --quantize-bin "$bindir"
	"$LLEVAL" gguf info --json "$tmp/m-$q.gguf" >"$tmp/q.json"
	python3 - "$tmp/q.json" "$q" <<'PY'
import json, sys
d, q = json.load(open(sys.argv[1])), sys.argv[2]
assert d["file_type"] == q.upper(), d["file_type"]
types = {x["type"] for x in d["quantization"]}
assert {"q8_0": "Q8_0", "q4_k_m": "Q4_K"}[q] in types, types
assert d["layers"] == 2 and d["embedding_length"] == 256
PY
	start_server "$tmp/m-$q.gguf"
	check_engine
	stop_server
	echo "llama-server: $q model loads, tokenizes, completes and chats"
done
