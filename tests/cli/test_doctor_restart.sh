#!/usr/bin/env bash
# Integration: the REAL llama-server that lleval manages is killed (SIGKILL)
# mid-run. lleval restarts it and the run completes; manifest.json records the
# restart (kind, signal 9, the server's address) in engine_events, the
# connection failures around it in retries.by_class, doctor names the restart
# with its evidence, and the report shows it. Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

items=10
tokens=256 # long enough answers that the kill usually lands mid-run (else: attempts below)
journal() { echo "runs/$1/results/parts/sample_closed/t0/part-001.jsonl"; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

llama_config m.yaml "" "$tokens" "max_concurrent_jobs: 2" "launch: {model: \"$model\"}"
m=""
for attempt in 1 2 3 4 5; do
	"$LLEVAL" run --config m.yaml --run-id "m$attempt" --limit_items "$items" >"m$attempt.out" 2>"m$attempt.err" &
	run_pid=$!
	bg_pids+=("$run_pid")
	wait_results "$(journal "m$attempt")" 1 60 || not_ok "no answer within 60 s"
	kill -KILL "$(cat "runs/m$attempt/logs/llama-server.pid" 2>/dev/null || echo 0)" 2>/dev/null || true
	run_rc=0
	wait "$run_pid" || run_rc=$?
	if grep -q "llama-server died" "m$attempt.err"; then
		m="m$attempt"
		break
	fi
	echo "# attempt $attempt: the run ended before the kill landed; again"
done
[ -n "$m" ] || { not_ok "in 5 attempts the kill never landed mid-run"; m=m5; }
[ "$run_rc" -eq 0 ] && ok "the run completed after the restart (exit 0)" ||
	{ not_ok "exit $run_rc, wanted 0"; sed 's/^/    /' "$m.err"; }
python3 - "runs/$m/manifest.json" <<'PY' && ok "manifest: engine_events records the restart, signal 9, the address" || not_ok "manifest engine_events"
import json, sys
m = json.load(open(sys.argv[1]))
ev = m["engine_events"]
assert len(ev) == 1, ev
e = ev[0]
assert e["kind"] == "restart" and e["signal"] == 9 and e["exit_status"] is None, e
assert e["address"].startswith("http://127.0.0.1:") and e["restarts"] == 1, e
assert "killed by signal 9" in e["cause"] and e["at"] > 0, e
PY
expect_exit 1 "doctor on the restarted run" -- "$LLEVAL" doctor "$m"
expect_grep "\[engine_restart\]" out.txt "doctor names the restart"
expect_grep "died 1 time (1 restarted)" out.txt "doctor counts it"
expect_grep "restart: killed by signal 9 (restarts 1) at http://127.0.0.1:" out.txt "doctor cites the signal and address"
expect_grep "journalctl -k" out.txt "doctor: signal 9 suggests the OOM killer"
if grep -q "\[connection\]" out.txt; then not_ok "the restart's connection retries reported as a connection problem"; else
	ok "the restart's connection retries are the restart's"; fi
expect_grep "Engine events" "runs/$m/report.html" "report.html has the engine events"
expect_grep "killed by signal 9" "runs/$m/report.md" "report.md shows the restart"

finish
