#!/usr/bin/env bash
# Peer benchmark (not a test; never run by ctest): a bare Python client,
# promptfoo and a whole `lleval run` against the same llama-server, on the
# same NQ-open items, prompt and concurrency, clients alternated and each
# repeated; the server's own request count checked after every run. Prints
# wall, CPU and peak RSS (medians) with ratios to lleval. Everything runs in a
# new network namespace (`unshare -n`, loopback only), so no client can reach
# past the machine. docs/benchmarks.md explains it and records results.
#
#   bash bench/peers/run.sh [build-dir]
#
# build-dir (default $BUILD_DIR, else build-bench) is configured as a Release
# build of lleval if it does not exist, and built (target lleval only).
#
# Environment (all optional):
#   ITEMS=200                 NQ-open items (= requests) per run
#   CONCURRENCY=1,4           at most the server's 4 slots
#   REPEATS=3                 runs per client and concurrency (medians shown)
#   MAX_TOKENS=16
#   LLAMA_ARG_THREADS=1       llama-server's threads (its own variable)
#   LLAMA_SERVER=...          default $LLEVAL_LLAMA_BIN_DIR/llama-server, else the newest
#                             ~/.cache/lleval/llama.cpp-*/bin/llama-server
#   RESULTS_JSON=FILE         also write every run (wall, CPU, RSS, load, ...) as JSON
#   LLEVAL_REF=BINARY         a second lleval (e.g. a build before a change), alternated with
#                             the others as client lleval_ref
#   MODEL=...                 default $LLEVAL_SHARED_DIR/models/llama-2-tiny-random.gguf
#   DATASET=...               default $LLEVAL_SHARED_DIR/datasets/nq_open/NQ-open.dev.jsonl
#   LLEVAL_SHARED_DIR         default ../shared next to the repository
#   PROMPTFOO_VERSION=0.121.20  the newest that runs on Node 20
#   PROMPTFOO_PREFIX=DIR      npm prefix, default ~/.cache/lleval/promptfoo-$PROMPTFOO_VERSION
#                             (installed there with npm on first use, outside the repository)
#   PROMPTFOO=0               skip promptfoo
#   NO_UNSHARE=1              run without the network namespace (when unshare -n is refused)
#   WORK=DIR                  scratch directory (kept); default a temp dir, removed
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/peers
shared=${LLEVAL_SHARED_DIR:-$root/../shared}

if [ -z "${LLEVAL_PEERS_INNER:-}" ]; then
	build=${1:-${BUILD_DIR:-$root/build-bench}}
	case $build in /*) ;; *) build=$PWD/$build ;; esac
	if [ ! -f "$build/CMakeCache.txt" ]; then
		cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLEVAL_TESTS=OFF >/dev/null 2>&1
	elif ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build/CMakeCache.txt"; then
		echo "bench/peers: note: $build is not a Release build; timing it as it is" >&2
	fi
	log=${TMPDIR:-/tmp}/lleval-bench-build.$$.log
	if ! cmake --build "$build" -j2 --target lleval >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		exit 1
	fi
	rm -f "$log"
	export LLEVAL_BIN=$build/lleval

	# promptfoo from npm, into a cache outside the repository (needs the network: before unshare)
	export PROMPTFOO_BIN=
	if [ "${PROMPTFOO:-1}" != 0 ]; then
		ver=${PROMPTFOO_VERSION:-0.121.20}
		prefix=${PROMPTFOO_PREFIX:-$HOME/.cache/lleval/promptfoo-$ver}
		if [ ! -x "$prefix/node_modules/.bin/promptfoo" ]; then
			if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then
				echo "bench/peers: installing promptfoo@$ver into $prefix (npm)" >&2
				mkdir -p "$prefix"
				npm install --no-audit --no-fund --loglevel=error --prefix "$prefix" \
					"promptfoo@$ver" >&2 || true
			fi
		fi
		if [ -x "$prefix/node_modules/.bin/promptfoo" ]; then
			PROMPTFOO_BIN=$prefix/node_modules/.bin/promptfoo
		else
			echo "bench/peers: promptfoo is not available (needs node and npm:" \
				"npm install --prefix $prefix promptfoo@$ver); measuring without it" >&2
		fi
	fi

	export LLEVAL_PEERS_INNER=1
	if [ "${NO_UNSHARE:-0}" = 1 ]; then
		echo "bench/peers: NO_UNSHARE=1: running without a network namespace" >&2
		exec bash "$0"
	fi
	if ! unshare -n true 2>/dev/null; then
		echo "bench/peers: 'unshare -n' is refused here (it needs root or user namespaces);" \
			"run as root, or set NO_UNSHARE=1 to measure without the namespace" >&2
		exit 2
	fi
	exec unshare -n bash "$0"
fi

# inside the namespace: only loopback, brought up
if [ "${NO_UNSHARE:-0}" != 1 ]; then
	ip link set lo up
	echo "network namespace: $(ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')" >&2
fi
export LLAMA_ARG_THREADS=${LLAMA_ARG_THREADS:-1}
work=${WORK:-}
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
command -v /usr/bin/time >/dev/null || {
	echo "bench/peers: /usr/bin/time is missing (apt-get install time)" >&2
	exit 2
}
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)," \
	"node $(node --version 2>/dev/null || echo -), python $(python3 -c 'import platform; print(platform.python_version())')," \
	"LLAMA_ARG_THREADS=$LLAMA_ARG_THREADS" >&2
pf=()
[ -n "$PROMPTFOO_BIN" ] && pf=(--promptfoo "$PROMPTFOO_BIN")
[ -n "${RESULTS_JSON:-}" ] && pf+=(--json "$RESULTS_JSON")
[ -n "${LLEVAL_REF:-}" ] && pf+=(--lleval-ref "$LLEVAL_REF")
server=${LLAMA_SERVER:-}
if [ -z "$server" ] && [ -n "${LLEVAL_LLAMA_BIN_DIR:-}" ]; then
	server=$LLEVAL_LLAMA_BIN_DIR/llama-server
fi
if [ -z "$server" ]; then
	server=$(ls -dt "$HOME"/.cache/lleval/llama.cpp-*/bin/llama-server 2>/dev/null | head -n 1 || true)
fi
if [ -z "$server" ] || [ ! -x "$server" ]; then
	echo "bench/peers: no llama-server (set LLAMA_SERVER or LLEVAL_LLAMA_BIN_DIR)" >&2
	exit 2
fi
python3 "$here/bench.py" --lleval "$LLEVAL_BIN" \
	--llama-server "$server" \
	--model "${MODEL:-$shared/models/llama-2-tiny-random.gguf}" \
	--dataset "${DATASET:-$shared/datasets/nq_open/NQ-open.dev.jsonl}" \
	--pyclient "$here/pyclient.py" "${pf[@]}" --work "$work" \
	--items "${ITEMS:-200}" --concurrency "${CONCURRENCY:-1,4}" --repeats "${REPEATS:-3}" \
	--max-tokens "${MAX_TOKENS:-16}"
