#!/usr/bin/env bash
# Integration: the REAL llama-server killed (SIGKILL) in the middle of a run.
#  - unmanaged (base_url): lleval retries, then stops cleanly and resumably with
#    exit 3 ("engine unreachable"), recording no failed answer; after the server
#    is started again, the same run completes with every result exactly once;
#  - managed (launch section): lleval notices, restarts the server, says so, and
#    the run completes with every result exactly once;
#  - managed with launch.max_restarts 0: exit 3, resumable, and the resume completes.
# Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

items=10
tokens=256 # long enough answers that the kill usually lands mid-run (else: attempts below)

journal() { echo "runs/$1/results/parts/sample_closed/t0/part-001.jsonl"; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# run_bg ID CONFIG: starts `lleval run` in the background, sets run_pid
run_bg() {
	"$LLEVAL" run --config "$2" --run-id "$1" --limit_items "$items" >"$1.out" 2>"$1.err" &
	run_pid=$!
	bg_pids+=("$run_pid")
}
# wait_run: waits for the background run, sets run_rc
wait_run() {
	run_rc=0
	wait "$run_pid" || run_rc=$?
}

no_failed_lines() {
	python3 - "$1" <<'PY'
import json, sys
bad = [json.loads(l)["custom_id"] for l in open(sys.argv[1]) if json.loads(l)["error"] is not None]
assert not bad, bad
PY
}

# ---- unmanaged ---------------------------------------------------------------------------------
start_llama u "" -- -c 1024 -np 2
llama_config u.yaml "$u_url" "$tokens" "max_concurrent_jobs: 2" "max_connect_failures: 3"
run_bg u u.yaml
if ! wait_results "$(journal u)" 1 60; then
	not_ok "unmanaged: no answer within 60 s"
	cat u.err
fi
kill_pid "$u_pid" KILL
wait_run
[ "$run_rc" -eq 3 ] && ok "unmanaged: server killed mid-run -> exit 3" ||
	{ not_ok "unmanaged: exit $run_rc after the kill, wanted 3"; sed 's/^/    /' u.err; }
expect_grep "engine unreachable" u.err "unmanaged: says the engine is unreachable"
expect_grep "resumable" u.err "unmanaged: says the run is resumable"
n=$(lines_of "$(journal u)")
[ "$n" -lt "$items" ] && ok "unmanaged: the kill landed mid-run ($n of $items answered)" ||
	not_ok "unmanaged: all $n answers arrived before the kill; the test proved nothing"
no_failed_lines "$(journal u)" && ok "unmanaged: no answer recorded as failed (connection errors leave requests unanswered)" ||
	not_ok "unmanaged: connection errors were recorded as failed answers"
python3 -c "import json; m = json.load(open('runs/u/manifest.json')); assert m['status'] == 'stopped', m['status']" &&
	ok "unmanaged: manifest status stopped" || not_ok "unmanaged: manifest status"

start_llama u2 "$u_port" -- -c 1024 -np 2 # same port: the run's saved config points there
expect_exit 0 "unmanaged: the same run again after restarting the server" -- \
	"$LLEVAL" run --config u.yaml --run-id u -q
check_results runs/u "$items" && ok "unmanaged: resumed run complete, every result exactly once" ||
	not_ok "unmanaged: resumed run results"
kill_pid "$u2_pid"

# ---- managed: lleval restarts the server ---------------------------------------------------------
# The kill must land while requests remain: with a fast server the run can answer all of them
# between the first answer and the kill. Such an attempt proves nothing, so it is made again under
# a new run id (bounded); the checks below are on the attempt whose kill landed.
llama_config m.yaml "" "$tokens" "max_concurrent_jobs: 2" "launch: {model: \"$model\"}"
m=""
for attempt in 1 2 3 4 5; do
	run_bg "m$attempt" m.yaml
	wait_results "$(journal "m$attempt")" 1 60 || not_ok "managed: no answer within 60 s"
	first_pid=$(cat "runs/m$attempt/logs/llama-server.pid" 2>/dev/null || echo 0)
	n=$(lines_of "$(journal "m$attempt")")
	kill -KILL "$first_pid" 2>/dev/null || true
	wait_run
	if grep -q "llama-server died" "m$attempt.err"; then
		m="m$attempt"
		break
	fi
	echo "# managed attempt $attempt: the run ended before the kill landed ($n answered); again"
done
if [ -n "$m" ]; then ok "managed: killed llama-server pid $first_pid mid-run ($n of $items answered)"; else
	not_ok "managed: in 5 attempts the kill never landed mid-run"
	m=m5
fi
[ "$run_rc" -eq 0 ] && ok "managed: the run completed after the kill (exit 0)" ||
	{ not_ok "managed: exit $run_rc, wanted 0"; sed 's/^/    /' "$m.err"; }
check_results "runs/$m" "$items" && ok "managed: every result exactly once, none failed" ||
	not_ok "managed: results"
expect_grep "llama-server died (killed by signal 9" "$m.err" "managed: the crash is reported"
expect_grep "restarted (1 of 3)" "$m.err" "managed: the restart is reported with its count"
expect_grep "start 2 of llama-server" "runs/$m/logs/llama-server.log" "managed: the log has a header for the second start"
expect_grep "llama-server died (killed by signal 9" "runs/$m/logs/llama-server.log" "managed: the log records the crash"
last_pid=$(sed -n 's/^--- lleval: stopping llama-server pid \([0-9]*\)$/\1/p' "runs/$m/logs/llama-server.log" | tail -n 1)
if [ -n "$last_pid" ] && [ "$last_pid" != "$first_pid" ] && ! kill -0 "$last_pid" 2>/dev/null; then
	ok "managed: the restarted server (pid $last_pid) was stopped at the end"
else
	not_ok "managed: restarted server pid '$last_pid' still running or never stopped"
fi
[ ! -e "runs/$m/logs/llama-server.pid" ] && ok "managed: pid file removed" || not_ok "managed: pid file left"

# ---- managed, no restarts allowed: exit 3, then resume ---------------------------------------
llama_config z.yaml "" "$tokens" "max_concurrent_jobs: 2" \
	"launch: {model: \"$model\", max_restarts: 0}"
z=""
for attempt in 1 2 3 4 5; do
	run_bg "z$attempt" z.yaml
	wait_results "$(journal "z$attempt")" 1 60 || not_ok "max_restarts 0: no answer within 60 s"
	kill -KILL "$(cat "runs/z$attempt/logs/llama-server.pid" 2>/dev/null || echo 0)" 2>/dev/null || true
	wait_run
	if [ "$run_rc" -ne 0 ] || grep -q "llama-server died" "z$attempt.err"; then
		z="z$attempt"
		break
	fi
	echo "# max_restarts 0 attempt $attempt: the run ended before the kill landed; again"
done
[ -n "$z" ] || { not_ok "max_restarts 0: in 5 attempts the kill never landed mid-run"; z=z5; }
[ "$run_rc" -eq 3 ] && ok "max_restarts 0: killed server -> exit 3" ||
	{ not_ok "max_restarts 0: exit $run_rc, wanted 3"; sed 's/^/    /' "$z.err"; }
expect_grep "launch.max_restarts 0" "$z.err" "max_restarts 0: the message names launch.max_restarts"
no_failed_lines "$(journal "$z")" && ok "max_restarts 0: no answer recorded as failed" ||
	not_ok "max_restarts 0: failed answers recorded"
expect_exit 0 "max_restarts 0: resuming starts a fresh server and completes" -- \
	"$LLEVAL" run --config z.yaml --run-id "$z" -q
check_results "runs/$z" "$items" && ok "max_restarts 0: resumed run complete, every result exactly once" ||
	not_ok "max_restarts 0: resumed results"

finish
