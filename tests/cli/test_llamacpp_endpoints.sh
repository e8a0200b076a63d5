#!/usr/bin/env bash
# Integration: one run over several REAL llama-servers (docs/design.md, "Several endpoints").
#  - three servers on loopback ports (2 slots each, from their probe); one is killed (SIGKILL)
#    once the run has answered some requests: the run finishes on the other two (exit 0), every
#    custom_id exactly once and none failed, and the manifest and report show the dead endpoint
#    out of rotation with its outage;
#  - launch.instances 2 with launch.devices: two managed servers, each started with its own
#    CUDA_VISIBLE_DEVICES, both answering, both stopped when lleval ends;
#  - launch.instances 2, one instance killed (SIGKILL) mid-run: lleval restarts it, the run
#    finishes with every custom_id exactly once, and the restart is an engine event in the
#    manifest with that instance's address.
# Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

items=16
tokens=96 # answers long enough that the kill lands while requests remain (else: attempts below)

journal() { echo "runs/$1/results/parts/sample_closed/t0/part-001.jsonl"; }
lines_of() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }

# ---- three unmanaged servers, one killed mid-run ----------------------------------------------
start_llama a "" -- -c 1024 -np 2
start_llama b "" -- -c 1024 -np 2
start_llama c "" -- -c 1024 -np 2
llama_config e.yaml "" "$tokens" "samples: 2" "max_connect_failures: 3" "endpoints:" \
	"  - $a_url" "  - $b_url" "  - $c_url"
total=$((items * 2))
k=""
for attempt in 1 2 3 4; do
	id="k$attempt"
	"$LLEVAL" run --config e.yaml --run-id "$id" --limit_items "$items" >"$id.out" 2>"$id.err" &
	run_pid=$!
	bg_pids+=("$run_pid")
	wait_results "$(journal "$id")" 3 120 || not_ok "three servers: no answers within 120 s"
	n=$(lines_of "$(journal "$id")")
	kill_pid "$b_pid" KILL
	run_rc=0
	wait "$run_pid" || run_rc=$?
	# the kill landed when the run saw that endpoint go out of rotation
	if python3 -c "
import json, sys
eps = json.load(open('runs/$id/manifest.json'))['endpoints']
sys.exit(0 if any(e['base_url'].endswith(':$b_port') and e['outages'] for e in eps) else 1)"; then
		k=$id
		break
	fi
	echo "# attempt $attempt: the run ended before the kill landed ($n of $total answered); again"
	start_llama b "$b_port" -- -c 1024 -np 2 # the same address for the next attempt
done
if [ -n "$k" ]; then ok "three servers: one killed mid-run ($n of $total answered)"; else
	not_ok "three servers: in 4 attempts the kill never landed mid-run"
	k=k4
fi
[ "$run_rc" -eq 0 ] && ok "three servers: the run finished on the other two (exit 0)" ||
	{ not_ok "three servers: exit $run_rc, wanted 0"; sed 's/^/    /' "$k.err" | tail -20; }
check_results "runs/$k" "$total" && ok "three servers: every custom_id exactly once, none failed" ||
	not_ok "three servers: results"
python3 - "$k" "$b_port" <<'PY' && ok "three servers: the manifest shows the dead endpoint out of rotation" || not_ok "three servers: manifest endpoints"
import json, sys
eps = {e["base_url"].rsplit(":", 1)[1]: e for e in json.load(open("runs/%s/manifest.json" % sys.argv[1]))["endpoints"]}
dead = eps[sys.argv[2]]
print("# dead endpoint:", json.dumps(dead))
assert len(eps) == 3 and all(e["slots"] == 2 for e in eps.values()), eps  # the probed slots
assert dead["outages"] >= 1 and dead["in_rotation"] is False and dead["last_error"], dead
others = [e for p, e in eps.items() if p != sys.argv[2]]
assert all(e["ok"] > 0 and e["outages"] == 0 and e["in_rotation"] for e in others), eps
PY
python3 - "$k" "$total" <<'PY' && ok "three servers: the endpoints' answers add up to the run's" || not_ok "three servers: endpoint counts"
import json, sys
eps = json.load(open("runs/%s/manifest.json" % sys.argv[1]))["endpoints"]
assert sum(e["ok"] for e in eps) == int(sys.argv[2]), [e["ok"] for e in eps]
PY
expect_grep "## Endpoints" "runs/$k/report.md" "three servers: report.md has the Endpoints table"
expect_grep "id=\"endpoints\"" "runs/$k/report.html" "three servers: report.html has the Endpoints table"
kill_pid "$a_pid"
kill_pid "$c_pid"

# ---- launch.instances: two managed servers, each with its own devices ------------------------------
llama_config m.yaml "" 32 "samples: 2" \
	"launch: {model: \"$model\", parallel: 2, instances: 2, devices: [\"dev-a\", \"dev-b\"]}"
"$LLEVAL" run --config m.yaml --run-id m --limit_items "$items" >m.out 2>m.err &
run_pid=$!
bg_pids+=("$run_pid")
wait_results "$(journal m)" 1 120 || not_ok "instances: no answer within 120 s"
envs=""
for i in 1 2; do
	pid=$(cat "runs/m/logs/llama-server.$i.pid" 2>/dev/null || echo 0)
	[ -r "/proc/$pid/environ" ] && envs="$envs $(tr '\0' '\n' <"/proc/$pid/environ" | grep '^CUDA_VISIBLE_DEVICES=' || true)"
done
run_rc=0
wait "$run_pid" || run_rc=$?
[ "$run_rc" -eq 0 ] && ok "instances: the run over two managed servers completed" ||
	{ not_ok "instances: exit $run_rc"; tail -20 m.err; }
check_results runs/m "$total" && ok "instances: every custom_id exactly once" || not_ok "instances: results"
if [ -d /proc/self ]; then
	case "$envs" in
	*CUDA_VISIBLE_DEVICES=dev-a*CUDA_VISIBLE_DEVICES=dev-b*) ok "instances: each server got its own CUDA_VISIBLE_DEVICES" ;;
	*) not_ok "instances: servers' CUDA_VISIBLE_DEVICES: '$envs'" ;;
	esac
fi
python3 - <<'PY' && ok "instances: both answered (manifest endpoints)" || not_ok "instances: manifest endpoints"
import json
eps = json.load(open("runs/m/manifest.json"))["endpoints"]
assert len(eps) == 2 and all(e["ok"] > 0 and e["slots"] == 2 for e in eps), eps
PY
stopped=0
for i in 1 2; do
	log="runs/m/logs/llama-server.$i.log"
	last=$(sed -n 's/^--- lleval: stopping llama-server pid \([0-9]*\)$/\1/p' "$log" 2>/dev/null | tail -n 1)
	if [ -n "$last" ] && ! kill -0 "$last" 2>/dev/null && [ ! -e "runs/m/logs/llama-server.$i.pid" ]; then
		stopped=$((stopped + 1))
	fi
done
[ "$stopped" -eq 2 ] && ok "instances: both servers stopped with lleval, pid files removed" ||
	not_ok "instances: $stopped of 2 servers stopped"

# ---- launch.instances 2: one killed mid-run is restarted -------------------------------------
llama_config r.yaml "" "$tokens" "samples: 2" \
	"launch: {model: \"$model\", parallel: 2, instances: 2, max_restarts: 2}"
landed=""
for attempt in 1 2 3 4; do
	id="r$attempt"
	"$LLEVAL" run --config r.yaml --run-id "$id" --limit_items "$items" >"$id.out" 2>"$id.err" &
	run_pid=$!
	bg_pids+=("$run_pid")
	wait_results "$(journal "$id")" 3 120 || not_ok "restart: no answers within 120 s"
	victim=$(cat "runs/$id/logs/llama-server.2.pid" 2>/dev/null || echo 0)
	[ "$victim" -gt 0 ] && kill -KILL "$victim" 2>/dev/null || true
	run_rc=0
	wait "$run_pid" || run_rc=$?
	if python3 -c "
import json, sys
ev = json.load(open('runs/$id/manifest.json')).get('engine_events') or []
sys.exit(0 if any(e['kind'] == 'restart' for e in ev) else 1)"; then
		landed=$id
		break
	fi
	echo "# attempt $attempt: the run ended before the kill landed; again"
done
if [ -n "$landed" ]; then ok "restart: one managed instance killed mid-run"; else
	not_ok "restart: in 4 attempts the kill never landed mid-run"
	landed=r4
fi
[ "$run_rc" -eq 0 ] && ok "restart: the run finished (exit 0)" ||
	{ not_ok "restart: exit $run_rc, wanted 0"; sed 's/^/    /' "$landed.err" | tail -20; }
check_results "runs/$landed" "$total" && ok "restart: every custom_id exactly once" ||
	not_ok "restart: results"
python3 - "$landed" <<'PY' && ok "restart: an engine event names the restarted instance's address" || not_ok "restart: engine events"
import json, sys
m = json.load(open("runs/%s/manifest.json" % sys.argv[1]))
ev = [e for e in m.get("engine_events") or [] if e["kind"] == "restart"]
print("# restart events:", json.dumps(ev))
assert ev and all(e["restarts"] >= 1 and e["signal"] == 9 for e in ev), ev
assert all((e["address"] or "").startswith("http://127.0.0.1:") for e in ev), ev
PY
finish
