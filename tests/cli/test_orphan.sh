#!/usr/bin/env bash
# Integration: a managed llama-server never outlives lleval, and the orphan
# check touches only the process it recorded.
#  - lleval killed (SIGKILL) mid-run: its llama-server is gone within seconds
#    (it dies with its parent), and the run resumes and completes exactly once;
#  - a llama-server left running without that tie (started by hand here, as
#    an older lleval would have left it) whose pid and start time the run's
#    logs/llama-server.identity records: stopped when the run resumes;
#  - a recorded pid whose start time differs (an unrelated process, another
#    llama-server here, that got the pid): left alone.
# Every wait is on a condition with a generous bound. Skips cleanly without
# llama-server.
source "$(dirname "$0")/llama_lib.sh"

items=10
journal() { echo "runs/$1/results/parts/sample_closed/t0/part-001.jsonl"; }
# alive PID: the process exists and is not a zombie waiting to be reaped
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* (.*) Z' "/proc/$1/stat" 2>/dev/null; }
# gone_within PID SECONDS: waits until PID is no longer alive
gone_within() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		alive "$1" || return 0
		sleep 0.05
	done
	return 1
}
# start_id PID: field 22 of /proc/PID/stat (the start time in clock ticks after boot)
start_id() { python3 -c "import sys; s = open('/proc/%s/stat' % sys.argv[1]).read(); print(s[s.rindex(')') + 2:].split()[19])" "$1"; }

# ---- kill -9 lleval: its server goes with it ------------------------------------------------------
llama_config k.yaml "" 128 "launch: {model: \"$model\"}"
"$LLEVAL" run --config k.yaml --run-id k --limit_items "$items" >k.out 2>k.err &
run_pid=$!
bg_pids+=("$run_pid")
wait_results "$(journal k)" 1 120 || not_ok "kill: no answer within 120 s"
server=$(cat runs/k/logs/llama-server.pid 2>/dev/null || true)
if alive "$server" && [ "$(ps -o ppid= -p "$server" | tr -d ' ')" = "$run_pid" ]; then
	ok "kill: llama-server $server runs as lleval's child"
else
	not_ok "kill: no managed llama-server (pid '$server') under lleval $run_pid"
fi
expect_grep "^$server [0-9][0-9]*\$" runs/k/logs/llama-server.identity "kill: its pid and start time are recorded"
t0=$(date +%s)
kill_pid "$run_pid" KILL
if gone_within "$server" 30; then
	ok "kill: llama-server $server gone $(($(date +%s) - t0)) s after lleval was killed"
else
	not_ok "kill: llama-server $server still runs 30 s after lleval was killed"
	kill -KILL "$server" 2>/dev/null || true
fi
expect_exit 0 "kill: the run resumes" -- "$LLEVAL" runs resume k -q
check_results runs/k "$items" && ok "kill: every result exactly once" || not_ok "kill: results"
[ ! -e runs/k/logs/llama-server.identity ] && ok "kill: identity file removed at the end" ||
	not_ok "kill: identity file left"

# ---- the orphan check: pid and start time --------------------------------------------------------
llama_config s.yaml "" 8 "launch: {model: \"$model\"}"
for id in o d; do
	expect_exit 0 "orphan: run $id built, not run" -- \
		"$LLEVAL" run --config s.yaml --run-id "$id" --limit_items 3 --to_step build -q
done

# a server that is not tied to any lleval, recorded as run o's
start_llama x "" -- -c 512
echo "$x_pid" >runs/o/logs/llama-server.pid
echo "$x_pid $(start_id "$x_pid")" >runs/o/logs/llama-server.identity
expect_exit 0 "orphan: run o resumes" -- "$LLEVAL" runs resume o -q
expect_grep "stopping llama-server pid $x_pid left by an earlier lleval" runs/o/logs/llama-server.log \
	"orphan: the resume stopped the recorded server"
gone_within "$x_pid" 30 && ok "orphan: server $x_pid is gone" || not_ok "orphan: server $x_pid still runs"
check_results runs/o 3 && ok "orphan: every result exactly once" || not_ok "orphan: results"

# an unrelated process that got a recorded pid (here another llama-server, as
# another run's would be): its start time differs
start_llama y "" -- -c 512
echo "$y_pid" >runs/d/logs/llama-server.pid
echo "$y_pid $(($(start_id "$y_pid") + 1))" >runs/d/logs/llama-server.identity
expect_exit 0 "decoy: run d resumes" -- "$LLEVAL" runs resume d -q
alive "$y_pid" && ok "decoy: the llama-server with another start time was left alone" ||
	not_ok "decoy: llama-server $y_pid was killed"
grep -q "left by an earlier lleval" runs/d/logs/llama-server.log &&
	not_ok "decoy: the log says an orphan was stopped" || ok "decoy: no orphan stopped"
check_results runs/d 3 && ok "decoy: every result exactly once" || not_ok "decoy: results"
kill_pid "$y_pid"

finish
