#!/usr/bin/env bash
# Concurrency benchmark (not a test; never run by ctest): a managed llama-server
# on a synthesized random-weight model, the same NQ-open requests run by lleval
# at max_concurrent_jobs auto and at each fixed concurrency of a sweep. auto
# sizes the server (slots and per-slot context from the planner, threads = cores
# on the CPU) and measures on the run's own first requests; the fixed runs use
# the same server settings, so only the concurrency differs. The throughput of
# a run is its requests over the time from its first request sent to its last
# answer (results_combined.jsonl: finished_at - latency), the tuning included
# for auto. Prints a table with the ratios; docs/benchmarks.md records results.
#
#   bash bench/tune/run.sh [build-dir]
#
# build-dir (default $BUILD_DIR, else build-bench) is configured as a Release
# build of lleval if it does not exist, and built (target lleval only).
#
# Environment (all optional):
#   ITEMS=300            NQ-open items (= requests) per run
#   MAX_TOKENS=32        max_new_tokens
#   SWEEP=1,2,4,8,16     the fixed concurrencies
#   REPEATS=1            runs per setting (the best kept: load on the machine only slows)
#   LAYERS=8 EMBD=768 HEADS=12 FF=2048 VOCAB=8000   the synthesized model (f16, ~70M params)
#   LLAMA_ARG_THREADS    llama-server's threads (unset: auto's -t = cores)
#   LLAMA_BIN_DIR=...    default ~/.cache/lleval/llama.cpp-nlc-3.21.1/bin
#   DATASET=...          default $LLEVAL_SHARED_DIR/datasets/nq_open/NQ-open.dev.jsonl
#   LLEVAL_SHARED_DIR    default ../shared next to the repository
#   WORK=DIR             scratch directory (kept); default a temp dir, removed
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
shared=${LLEVAL_SHARED_DIR:-$root/../shared}
build=${1:-${BUILD_DIR:-$root/build-bench}}
case $build in /*) ;; *) build=$PWD/$build ;; esac
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLLEVAL_TESTS=OFF >/dev/null 2>&1
fi
cmake --build "$build" -j2 --target lleval >/dev/null
lleval=$build/lleval
export LLEVAL_LLAMA_BIN_DIR=${LLAMA_BIN_DIR:-$HOME/.cache/lleval/llama.cpp-nlc-3.21.1/bin}
[ -x "$LLEVAL_LLAMA_BIN_DIR/llama-server" ] || {
	echo "bench/tune: no llama-server in $LLEVAL_LLAMA_BIN_DIR (scripts/provision-llama.sh)" >&2
	exit 1
}
dataset=${DATASET:-$shared/datasets/nq_open/NQ-open.dev.jsonl}
items=${ITEMS:-300}
max_tokens=${MAX_TOKENS:-32}
sweep=${SWEEP:-1,2,4,8,16}
repeats=${REPEATS:-1}
if [ -n "${WORK:-}" ]; then
	mkdir -p "$WORK"
	work=$(cd "$WORK" && pwd)
else
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi
cd "$work"

model=$work/synth.gguf
"$lleval" synth-model --out "$model" --layers "${LAYERS:-8}" --embd "${EMBD:-768}" \
	--heads "${HEADS:-12}" --ff "${FF:-2048}" --vocab "${VOCAB:-8000}" --ctx 4096 -q

config() { # FILE JOBS [launch lines...]
	local f=$1 jobs=$2
	shift 2
	{
		echo "engine: llamacpp"
		echo "model_id: synth"
		echo "max_new_tokens: $max_tokens"
		echo "temps: [0.0]"
		echo "limit_items: $items"
		echo "max_concurrent_jobs: $jobs"
		echo "launch:"
		echo "  model: $model"
		for l in "$@"; do echo "  $l"; done
		echo "datasets:"
		echo "  - {name: nq, format: nq_open, path: $dataset}"
	} >"$f"
}

# requests/s of a run: its requests over first send .. last answer
rate() {
	python3 - "$1" <<'PY'
import json, sys
first, last, n = None, None, 0
for line in open(sys.argv[1] + "/results/results_combined.jsonl"):
    r = json.loads(line)["lleval"]
    end = r["finished_at"]
    start = end - r["latency_ms"] / 1000.0
    first = start if first is None or start < first else first
    last = end if last is None or end > last else last
    n += 1
print("%d %.3f" % (n, n / (last - first)))
PY
}

run_one() { # NAME CONFIG: prints "requests rate" of the best of REPEATS
	local name=$1 cfg=$2 best="" i
	for i in $(seq 1 "$repeats"); do
		rm -rf "runs/$name-$i"
		"$lleval" run --config "$cfg" --run-id "$name-$i" --to-step poll -q >"$name-$i.out" 2>&1 ||
			{ cat "$name-$i.out" >&2; exit 1; }
		local got
		got=$(rate "runs/$name-$i")
		if [ -z "$best" ] || python3 -c "import sys; sys.exit(not float('${got#* }') > float('${best#* }'))"; then
			best=$got
		fi
	done
	echo "$best"
}

echo "bench/tune: model $(du -h "$model" | cut -f1), $items requests of up to $max_tokens tokens," \
	"$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
config auto.yaml auto
auto=$(run_one auto auto.yaml)
manifest=runs/auto-1/manifest.json
read -r slots slot_ctx threads < <(python3 -c "
import json; s = json.load(open('$manifest'))['tune'].get('server', {})
print(s.get('slots', 0), s.get('slot_ctx', 0), s.get('threads', 0))")
python3 -c "
import json; t = json.load(open('$manifest'))['tune']
print('auto: chosen %d; %s' % (t['chosen'], t['stop_reason']))
for p in t['curve']: print('  tune %3d: %3d requests, %.3f req/s' % (p['concurrency'], p['requests'], p['rps']))" >&2
launch=("parallel: $slots" "ctx_size: $((slots * slot_ctx))")
[ "$threads" -gt 0 ] && launch+=("extra_args: [-t, '$threads']")
rows="auto $(python3 -c "import json; print(json.load(open('$manifest'))['tune']['chosen'])") $auto"
for c in ${sweep//,/ }; do
	config "c$c.yaml" "$c" "${launch[@]}"
	rows+=$'\n'"fixed $c $(run_one "c$c" "c$c.yaml")"
	echo "bench/tune: fixed $c done" >&2
done
python3 - "$slots" "$slot_ctx" "$threads" <<PY
import sys
slots, ctx, threads = sys.argv[1:4]
rows = [l.split() for l in """$rows""".strip().splitlines()]
fixed = {int(c): float(r) for k, c, n, r in rows if k == "fixed"}
auto = [(int(c), float(r)) for k, c, n, r in rows if k == "auto"][0]
best_c = max(fixed, key=fixed.get)
one = fixed.get(1)
print("llama-server: -np %s, %s tokens per slot, threads %s" % (slots, ctx, threads or "LLAMA_ARG_THREADS"))
print("%-12s %11s %9s %9s %8s" % ("run", "concurrency", "req/s", "vs best", "vs 1"))
for c in sorted(fixed):
    print("%-12s %11d %9.3f %8.1f%% %7.2fx" % ("fixed", c, fixed[c], 100 * fixed[c] / fixed[best_c],
                                              fixed[c] / one if one else 0))
print("%-12s %11d %9.3f %8.1f%% %7.2fx" % ("auto", auto[0], auto[1], 100 * auto[1] / fixed[best_c],
                                          auto[1] / one if one else 0))
ok1 = auto[1] >= 0.97 * fixed[best_c]
ok2 = one and auto[1] >= 1.3 * one
print("target: auto within 3%% of the best fixed (%d): %s" % (best_c, "met" if ok1 else "NOT met"))
print("target: auto at least 1.3x one worker: %s" % ("met" if ok2 else "NOT met"))
PY
