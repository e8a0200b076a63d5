# Helpers for the integration tests against the real llama-server (sourced
# by tests/cli/test_llamacpp_*.sh, after lib.sh). They find llama-server
# ($LLEVAL_LLAMA_BIN_DIR, the cache scripts/provision-llama.sh fills, PATH;
# a clear skip with exit 0 when there is none), pick the model (the shared
# tiny Llama-2 model, else one made by `lleval synth-model`), start servers
# on free loopback ports, and run a counting proxy between lleval and a
# server that records every request body and the most requests it ever had
# in flight at once. Every server, proxy and background lleval is killed on
# exit.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# One compute thread per server (also for servers lleval launches, which
# inherit it): see scripts/run-tests.sh.
export LLAMA_ARG_THREADS="${LLAMA_ARG_THREADS:-1}"

bg_pids=()
cleanup_llama() {
	local p
	for p in "${bg_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${bg_pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# servers started by lleval itself (launch): their pid files, if a test left one
	for p in "$work"/runs/*/logs/llama-server.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup_llama EXIT
trap 'exit 130' INT TERM

skip_all() {
	echo "skip - $*"
	exit 0
}

command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed: these tests need it"

# ---- llama-server and the model ----------------------------------------------------------

find_llama_server() {
	local cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
	local d
	for d in "${LLEVAL_LLAMA_BIN_DIR:-}" "$cache/llama.cpp-nlc-3.21.1/bin"; do
		if [ -n "$d" ] && [ -x "$d/llama-server" ]; then
			echo "$d/llama-server"
			return 0
		fi
	done
	command -v llama-server 2>/dev/null
}
llama_bin=$(find_llama_server) ||
	skip_all "no llama-server in \$LLEVAL_LLAMA_BIN_DIR, the provisioned cache or PATH (build it with scripts/provision-llama.sh)"
export LLEVAL_LLAMA_BIN_DIR="$(dirname "$llama_bin")" # lleval's launch finds the same binary

# synth_model FILE: a small random-weight model from `lleval synth-model` (never emits </s>)
synth_model() {
	"$LLEVAL" synth-model --out "$1" --layers 2 --embd 64 --heads 4 --vocab 1024 --ctx 2048 -q
}

shared_model="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}/models/llama-2-tiny-random.gguf"
if [ -f "$shared_model" ]; then
	model="$shared_model"
	model_name="llama-2-tiny-random (shared)"
else
	model="$work/synth.gguf"
	synth_model "$model" || skip_all "no shared tiny model and \`lleval synth-model\` failed"
	model_name="synthesized by lleval synth-model"
fi
echo "# llama-server: $llama_bin"
echo "# model: $model ($model_name)"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS: waits for an HTTP 200 from URL
wait_http() {
	python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        if urllib.request.urlopen(url, timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

# start_llama NAME [PORT] -- LLAMA_ARGS...: starts llama-server with the test model on
# 127.0.0.1 (PORT, or a free one), waits for /health, sets NAME_port, NAME_pid, NAME_url
start_llama() {
	local name=$1 port=${2:-}
	shift 2
	[ "${1:-}" = "--" ] && shift
	[ -n "$port" ] || port=$(free_port)
	"$llama_bin" -m "$model" --host 127.0.0.1 --port "$port" "$@" >>"$name.log" 2>&1 &
	local pid=$!
	bg_pids+=("$pid")
	if ! wait_http "http://127.0.0.1:$port/health" 60; then
		echo "llama-server did not start:" >&2
		tail -20 "$name.log" >&2
		exit 1
	fi
	printf -v "${name}_port" '%s' "$port"
	printf -v "${name}_pid" '%s' "$pid"
	printf -v "${name}_url" '%s' "http://127.0.0.1:$port"
}

# kill_pid PID [SIGNAL]: kills and reaps one of our background processes
kill_pid() {
	kill "-${2:-TERM}" "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# ---- the counting proxy --------------------------------------------------------------------

cat >"$work/llama_proxy.py" <<'PY'
"""Forwards HTTP requests to an upstream llama-server, counting requests in
flight (from the moment one is read until its reply is written) and recording
every request body. GET /__proxy_stats -> {"max_in_flight", "in_flight",
"requests"}; POST /__proxy_reset clears them. --hold N delays each chat request
until N are in flight or --hold-s seconds passed, so a client that sends N at
once is seen doing it however fast the server is."""
import argparse, http.client, http.server, json, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--upstream-port", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--hold", type=int, default=0)
ap.add_argument("--hold-s", type=float, default=2.0)
args = ap.parse_args()
lock = threading.Condition()
st = {"max_in_flight": 0, "in_flight": 0, "requests": 0}


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        chat = self.path.endswith("/chat/completions")
        if chat:
            with lock:
                st["requests"] += 1
                st["in_flight"] += 1
                st["max_in_flight"] = max(st["max_in_flight"], st["in_flight"])
                lock.notify_all()
                with open(args.log, "a") as f:
                    f.write(body.decode("utf-8", "replace").replace("\n", " ") + "\n")
                if args.hold:
                    end = time.time() + args.hold_s
                    while st["in_flight"] < args.hold and time.time() < end:
                        lock.wait(end - time.time())
        try:
            c = http.client.HTTPConnection("127.0.0.1", args.upstream_port, timeout=300)
            hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            c.request(method, self.path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            status, ctype = r.status, r.getheader("Content-Type") or "application/json"
            c.close()
        except Exception:
            status, data, ctype = None, b"", ""
        try:
            if status is None:  # upstream gone: drop the connection, as the server would
                self.close_connection = True
            else:
                self.reply(status, data, ctype)
        finally:
            if chat:
                with lock:
                    st["in_flight"] -= 1

    def do_GET(self):
        if self.path == "/__proxy_stats":
            with lock:
                return self.reply(200, json.dumps(st).encode())
        self.forward("GET")

    def do_POST(self):
        if self.path == "/__proxy_reset":
            with lock:
                st.update(max_in_flight=0, in_flight=0, requests=0)
            return self.reply(200, b"{}")
        self.forward("POST")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print("PORT %d" % srv.server_address[1], flush=True)
srv.serve_forever()
PY

# start_proxy NAME UPSTREAM_PORT [--hold N --hold-s S]: sets NAME_port, NAME_url, NAME_pid;
# request bodies go to NAME.requests.jsonl
start_proxy() {
	local name=$1 upstream=$2
	shift 2
	rm -f "$name.out"
	python3 "$work/llama_proxy.py" --upstream-port "$upstream" --log "$work/$name.requests.jsonl" "$@" \
		>"$name.out" 2>"$name.err" &
	local pid=$!
	bg_pids+=("$pid")
	local port
	port=$(fake_port "$name.out" "$pid")
	[ -n "$port" ] || {
		echo "cannot start the proxy:" >&2
		cat "$name.err" >&2
		exit 1
	}
	: >"$work/$name.requests.jsonl"
	printf -v "${name}_port" '%s' "$port"
	printf -v "${name}_pid" '%s' "$pid"
	printf -v "${name}_url" '%s' "http://127.0.0.1:$port"
}

# proxy_stat PORT KEY: one value of the proxy's counters
proxy_stat() {
	python3 -c "import json, urllib.request, sys; print(json.load(urllib.request.urlopen('http://127.0.0.1:$1/__proxy_stats'))['$2'])"
}
proxy_reset() {
	python3 -c "import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$1/__proxy_reset', data=b'', method='POST')).read()"
}

# ---- configs and checks ----------------------------------------------------------------------

# llama_config FILE BASE_URL_OR_EMPTY MAX_NEW_TOKENS [EXTRA YAML LINES...]: engine llamacpp on
# the closed-book sample (MAX_NEW_TOKENS per answer; greedy, so reruns give the same text)
llama_config() {
	local file=$1 url=$2 mnt=$3
	shift 3
	{
		echo "engine: llamacpp"
		echo "model_id: tiny"
		[ -n "$url" ] && echo "base_url: $url"
		echo "temps: [0.0]"
		echo "context_length: 512"
		echo "max_new_tokens: {closed_book: $mnt, open_book: 64, multiple_choice: 4}"
		echo "request_timeout_s: 120"
		echo "datasets:"
		echo "  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}"
		local line
		for line in "$@"; do echo "$line"; done
	} >"$file"
}

# check_results RUN_DIR N: N result lines, each custom_id exactly once, none failed,
# and predictions.csv with N rows
check_results() {
	python3 - "$1" "$2" <<'PY'
import csv, json, sys
run, n = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(run + "/results/results_combined.jsonl")]
ids = [l["custom_id"] for l in lines]
assert len(ids) == n, "%d results, wanted %d" % (len(ids), n)
assert len(set(ids)) == n, "duplicate custom_ids: %s" % sorted(i for i in set(ids) if ids.count(i) > 1)
bad = [l["custom_id"] for l in lines if l["error"] is not None]
assert not bad, "failed requests: %s" % bad
rows = list(csv.DictReader(open(run + "/results/predictions.csv", newline="")))
assert len(rows) == n, "%d predictions, wanted %d" % (len(rows), n)
PY
}

# wait_results FILE N SECONDS: waits until FILE has at least N lines
wait_results() {
	local i
	for i in $(seq 1 $(($3 * 20))); do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
