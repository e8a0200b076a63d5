#!/usr/bin/env bash
# Integration: `lleval run` against a REAL llama-server that the test starts
# (unmanaged: base_url), with a counting proxy in between: concurrency 1 and
# 2 (never more in flight than asked, and 2 really reached), truncation
# (finish_reason length), timings (gen_tps > 0), stop sequences (the stop
# string reaches the server and a generation that hits it is recorded as
# finish_reason stop, cut before it) and the slot clamp (-np 1 with
# --max_concurrent_jobs 4). Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

# one server with 4 slots of 512 tokens, a proxy in front of it
start_llama srv "" -- -c 2048 -np 4 --metrics
start_proxy px "$srv_port"

# ---- concurrency 1, truncation, timings ------------------------------------------------------
llama_config c1.yaml "$px_url" 8
expect_exit 0 "concurrency 1: run against llama-server" -- \
	"$LLEVAL" run --config c1.yaml --run-id c1 --limit_items 4 --max_concurrent_jobs 1 -q
check_results runs/c1 4 && ok "concurrency 1: 4 answers, each once" || not_ok "concurrency 1: results"
[ "$(proxy_stat "$px_port" requests)" -eq 4 ] && ok "concurrency 1: 4 chat requests reached the server" ||
	not_ok "concurrency 1: $(proxy_stat "$px_port" requests) requests reached the server"
[ "$(proxy_stat "$px_port" max_in_flight)" -eq 1 ] && ok "concurrency 1: never 2 in flight" ||
	not_ok "concurrency 1: $(proxy_stat "$px_port" max_in_flight) in flight at once"
python3 - runs/c1 <<'PY' && ok "truncation: max_new_tokens 8 -> finish_reason length, 8 tokens" ||
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1] + "/results/predictions.csv", newline="")))
assert rows and all(r["finish_reason"] == "length" for r in rows), [r["finish_reason"] for r in rows]
assert all(r["completion_tokens"] == "8" for r in rows), [r["completion_tokens"] for r in rows]
for l in open(sys.argv[1] + "/results/results_combined.jsonl"):
    l = json.loads(l)
    assert l["response"]["body"]["choices"][0]["finish_reason"] == "length", l
PY
	not_ok "truncation not recorded as finish_reason length"
python3 - runs/c1 <<'PY' && ok "timings: gen_tps and prompt_tps > 0 from llama-server's timings" ||
import json, sys
for l in open(sys.argv[1] + "/results/results_combined.jsonl"):
    f = json.loads(l)["lleval"]
    assert f["engine"] == "llamacpp", f
    assert f["gen_tps"] > 0 and f["prompt_tps"] > 0, f
    assert f["prompt_tokens"] > 0 and f["completion_tokens"] == 8, f
    assert f["latency_ms"] > 0, f
PY
	not_ok "timings missing from the results"

# ---- concurrency 2 on a 4-slot server: at most 2 in flight, and 2 really reached -------------
# the proxy holds each request until 2 are in flight (or 5 s pass), so a client that sends
# 2 at once is always seen doing it, and one that sends more shows more
start_proxy px2 "$srv_port" --hold 2 --hold-s 5
llama_config c2.yaml "$px2_url" 8 "max_concurrent_jobs: 2"
expect_exit 0 "concurrency 2: run against a 4-slot llama-server" -- \
	"$LLEVAL" run --config c2.yaml --run-id c2 --limit_items 6 -q
check_results runs/c2 6 && ok "concurrency 2: 6 answers, each once" || not_ok "concurrency 2: results"
m=$(proxy_stat "$px2_port" max_in_flight)
[ "$m" -eq 2 ] && ok "concurrency 2: exactly 2 in flight at most (the server has 4 slots)" ||
	not_ok "concurrency 2: $m in flight at most, wanted 2"

# ---- stop sequences ---------------------------------------------------------------------------
# A random model cannot be asked to say a given word, so: generate greedily without a stop,
# pick a word from the middle of that text, generate again with it as a stop string.
proxy_reset "$px_port"
: >"$work/px.requests.jsonl"
llama_config s1.yaml "$px_url" 24
expect_exit 0 "stop: greedy generation without a stop string" -- \
	"$LLEVAL" run --config s1.yaml --run-id s1 --limit_items 1 -q
word=$(python3 - runs/s1 <<'PY'
import json, re, sys
l = json.loads(open(sys.argv[1] + "/results/results_combined.jsonl").readline())
text = l["response"]["body"]["choices"][0]["message"]["content"]
for m in re.finditer(r"[A-Za-z]{3,}", text):
    if m.start() >= 3 and text.find(m.group()) == m.start():
        print(m.group())
        break
PY
)
if [ -z "$word" ]; then
	not_ok "stop: the greedy text has no ASCII word past its start to use as a stop string"
else
	echo "# stop string: '$word'"
	: >"$work/px.requests.jsonl"
	llama_config s2.yaml "$px_url" 24 "stop: [\"$word\"]"
	expect_exit 0 "stop: the same request with stop ['$word']" -- \
		"$LLEVAL" run --config s2.yaml --run-id s2 --limit_items 1 -q
	python3 - "$work/px.requests.jsonl" "$word" <<'PY' && ok "stop: the request carried stop ['$word'] to llama-server" ||
import json, sys
bodies = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(bodies) == 1, len(bodies)
assert bodies[0].get("stop") == [sys.argv[2]], bodies[0].get("stop")
PY
		not_ok "stop: the stop string did not reach the server"
	python3 - runs/s1 runs/s2 "$word" <<'PY' && ok "stop: finish_reason stop, text cut before '$word'" ||
import csv, json, sys
def first(run):
    l = json.loads(open(run + "/results/results_combined.jsonl").readline())
    return l["response"]["body"]["choices"][0]
full, cut, word = first(sys.argv[1]), first(sys.argv[2]), sys.argv[3]
want = full["message"]["content"][: full["message"]["content"].index(word)]
assert cut["finish_reason"] == "stop", cut
assert cut["message"]["content"].rstrip() == want.rstrip(), (cut["message"]["content"], want)
rows = list(csv.DictReader(open(sys.argv[2] + "/results/predictions.csv", newline="")))
assert [r["finish_reason"] for r in rows] == ["stop"], rows
PY
		not_ok "stop: the stopped generation was not recorded as finish_reason stop"
fi

# ---- slot clamp: a 1-slot server and --max_concurrent_jobs 4 -----------------------------------
start_llama one "" -- -c 512 -np 1
start_proxy px1 "$one_port"
llama_config cl.yaml "$px1_url" 8
expect_exit 0 "clamp: --max_concurrent_jobs 4 against a 1-slot llama-server" -- \
	"$LLEVAL" run --config cl.yaml --run-id cl --limit_items 4 --max_concurrent_jobs 4
expect_grep "max_concurrent_jobs 4 clamped to 1" err.txt "clamp: the warning says so"
check_results runs/cl 4 && ok "clamp: 4 answers" || not_ok "clamp: results"
m=$(proxy_stat "$px1_port" max_in_flight)
[ "$m" -eq 1 ] && ok "clamp: never more than 1 request in flight" ||
	not_ok "clamp: $m requests in flight on a 1-slot server"
# the context budget: 512 tokens in one slot, a prompt + max_new_tokens 500 cannot fit: warned before sending
llama_config big.yaml "$px1_url" 500
expect_exit 0 "context budget: --to_step submit with max_new_tokens 500 on a 512-token slot" -- \
	"$LLEVAL" run --config big.yaml --run-id big --limit_items 2 --to_step submit
expect_grep "2 of 2 requests may not fit the engine's context of 512 tokens per slot" err.txt \
	"context budget: warned before the run"
llama_config small.yaml "$px1_url" 8
expect_exit 0 "context budget: small max_new_tokens" -- \
	"$LLEVAL" run --config small.yaml --run-id small --limit_items 2 --to_step submit
if grep -q "may not fit" err.txt; then not_ok "context budget: false warning"; else ok "context budget: no warning when it fits"; fi

finish
