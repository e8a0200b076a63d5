#!/usr/bin/env bash
# lleval.exe under Wine against a REAL llama-server (issue 8 (c)): the Linux
# llama-server on loopback, unmanaged (base_url): Wine's winsock is the host's
# sockets, so this checks lleval's Windows HTTP path (libcurl with Schannel
# built in, winsock) end to end. Managed (launch:): lleval.exe cannot own
# the Linux llama-server under Wine (see below), so the test checks that it
# fails cleanly (exit 3, the binary named) instead; on real Windows a PE
# llama-server.exe is launched. Skips without llama-server.
WINE_WITH_LLAMA=1 . "$(dirname "$0")/wine_lib.sh"

start_llama srv "" -- -c 2048 -np 2
llama_config u.yaml "$srv_url" 8 "max_concurrent_jobs: 2"
expect_exit 0 "unmanaged: run against the Linux llama-server" -- \
	"$LLEVAL" run --config u.yaml --run-id u --limit_items 6 -q
check_results runs/u 6 && ok "unmanaged: 6 answers, each once, none failed" || not_ok "unmanaged: results"
python3 - runs/u <<'PY' && ok "unmanaged: finish_reason length, 8 tokens, gen_tps > 0" ||
import json, sys
for l in open(sys.argv[1] + "/results/results_combined.jsonl"):
    l = json.loads(l)
    f = l["lleval"]
    assert f["engine"] == "llamacpp" and f["completion_tokens"] == 8 and f["gen_tps"] > 0, f
    assert l["response"]["body"]["choices"][0]["finish_reason"] == "length", l
PY
	not_ok "unmanaged: finish_reason/tokens/timings"
[ -s runs/u/results/scores.json ] && ok "unmanaged: scores.json" || not_ok "unmanaged: no scores.json"
# a second run gives the same answers (greedy): the exe reads its replies deterministically
expect_exit 0 "unmanaged: a second run" -- "$LLEVAL" run --config u.yaml --run-id u2 --limit_items 6 -q
same_scores u u2 && ok "unmanaged: the same scores twice" || not_ok "unmanaged: scores differ"

# nothing listening: exit 3 (engine unreachable), as on Linux
port=$(free_port)
llama_config x.yaml "http://127.0.0.1:$port" 8
expect_exit 3 "unmanaged: nothing listening -> exit 3" -- "$LLEVAL" run --config x.yaml --run-id x -q

# managed: Wine 8 starts the Linux ELF llama-server from lleval.exe's CreateProcess (a
# Unix process, outside Wine), but CreateProcess then fails ("Invalid handle": there is no
# Windows process to hand back), so lleval cannot own it: it reports exit 3 and the server,
# which lleval never got a handle to, is left running. Kill those strays (new
# "bin\llama-server" processes, the backslash is lleval's join). Real Windows launches a
# PE llama-server.exe (not tested here).
strays() { pgrep -f "bin.llama-server -m $model" | sort || true; }
before=$(strays)
llama_config m.yaml "" 8 "launch: {model: \"$model\", binary: \"$LLEVAL_LLAMA_BIN_DIR\"}"
rc=0
"$LLEVAL" run --config m.yaml --run-id m --limit_items 2 -q >m.out 2>m.err || rc=$?
for p in $(comm -13 <(echo "$before") <(strays)); do kill "$p" 2>/dev/null || true; done
if [ "$rc" -eq 0 ]; then
	check_results runs/m 2 && ok "managed: Wine started llama-server, 2 answers" || not_ok "managed: results"
else
	grep -v "^[0-9]*\.[0-9]" m.err | sed "s/^/# managed under Wine: /" | head -5
	[ "$rc" -eq 3 ] && ok "managed: cannot start the Linux llama-server under Wine: exit 3" ||
		{ not_ok "managed: exit $rc, wanted 3 (or 0)"; sed 's/^/    /' m.err | head; }
	grep -qi "llama-server" m.err && ok "managed: the error names llama-server" ||
		{ not_ok "managed: the error does not name llama-server"; sed 's/^/    /' m.err | head; }
fi
finish
