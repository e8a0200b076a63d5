#!/usr/bin/env bash
# Integration: several models with a managed llama-server each (issue 11, point 3),
# against the REAL llama-server. `models:` names two model ids, each with its own
# GGUF (two copies of the tiny model in the test's folder): lleval starts model a's
# server, runs a's parts, stops that server and waits for it to exit, and only then
# starts b's. A watcher reads the process table all along: two of the run's servers
# never run at once. The manifest's engine events say which model each start and
# stop was for; every request is answered exactly once. A kill -9 while model b is
# asked, then a resume: the resume starts b's server only, and every request is
# still answered once. Skips cleanly without llama-server.
source "$(dirname "$0")/llama_lib.sh"

items=4
cp "$model" "$work/a.gguf"
cp "$model" "$work/b.gguf"

llama_config mm.yaml "" 64 "limit_items: $items" "launch: {extra_args: [--threads, \"1\"]}" \
	"models:" \
	"  - {id: tiny-a, launch: {model: \"$work/a.gguf\", parallel: 2}, max_concurrent_jobs: 2}" \
	"  - {id: tiny-b, launch: {model: \"$work/b.gguf\", ctx_size: 1024}}"
sed -i '/^model_id:/d' mm.yaml

# watcher: samples the process table until told to stop; writes the pids of every
# llama-server of this test's model files seen, and the most alive at once
cat >watch.py <<'PY'
import json, os, sys, time
work, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
seen, most = {}, 0
while not os.path.exists(stop):
    alive = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
            state = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z" or not argv or not argv[0].endswith(b"llama-server"):
            continue
        model = [a.decode() for a in argv if a.startswith(work.encode()) and a.endswith(b".gguf")]
        if model:
            alive.append(pid)
            seen[pid] = os.path.basename(model[0])
    most = max(most, len(alive))
    open(out + ".ready", "w").close()
    time.sleep(0.005)
json.dump({"most": most, "seen": seen}, open(out, "w"))
PY
watch() {
	rm -f "$1.stop"
	python3 watch.py "$work" "$1.watch" "$1.stop" &
	watch_pid=$!
	bg_pids+=("$watch_pid")
	for _ in $(seq 1 600); do [ -f "$1.watch.ready" ] && break; sleep 0.05; done
}
# expect_no_grep PATTERN FILE WHAT: FILE does not match PATTERN
expect_no_grep() {
	if grep -q -- "$1" "$2"; then not_ok "$3"; else ok "$3"; fi
}
unwatch() {
	touch "$1.stop"
	wait "$watch_pid" || true
}

expect_exit 0 "config show with models:" -- "$LLEVAL" config show --config mm.yaml
expect_grep "^      ctx_size: 1024  *# mm.yaml:1[0-9]:" out.txt "config show: each model's settings with their origin"

watch ref
expect_exit 0 "two models, a server each" -- "$LLEVAL" run --config mm.yaml --run-id ref
unwatch ref
check_results runs/ref $((2 * items)) && ok "every request of both models answered exactly once" ||
	not_ok "results of the two-model run"
python3 - runs/ref ref.watch <<'PY' && ok "one server at a time: a's stopped before b's started" ||
import json, sys
run, watch = sys.argv[1], json.load(open(sys.argv[2]))
assert watch["most"] == 1, "servers alive at once: %d" % watch["most"]
assert sorted(set(watch["seen"].values())) == ["a.gguf", "b.gguf"], watch["seen"]
ev = json.load(open(run + "/manifest.json"))["engine_events"]
kinds = [(e["kind"], e.get("model")) for e in ev]
assert kinds == [("start", "tiny-a"), ("stop", "tiny-a"), ("start", "tiny-b")], kinds
assert ev[1]["at"] <= ev[2]["at"]
assert "a.gguf" in ev[0]["cause"] and "b.gguf" in ev[2]["cause"], ev
PY
	not_ok "servers one at a time"
expect_grep "model tiny-a: llama-server pid [0-9]* stopped" err.txt "the run says a's server stopped"
expect_grep "<td>start (tiny-a)</td><td>started</td>" runs/ref/report.html \
	"the report's engine events name each server's model"
expect_grep "<td>stop (tiny-a)</td><td>stopped by lleval</td>" runs/ref/report.html \
	"and its stop"
expect_grep "<th>models</th><td>tiny-a: .*a.gguf (ctx_size 1024, parallel 2, gpu_layers -1), max_concurrent_jobs 2; tiny-b: .*b.gguf (ctx_size 1024" \
	runs/ref/report.html "the report's settings give each model's server settings"
python3 - <<'PY' && ok "each server had its model's settings" || not_ok "per-model launch argv"
log = open("runs/ref/logs/llama-server.log", errors="replace").read()
import re
starts = [l for l in log.splitlines() if "a.gguf" in l or "b.gguf" in l]
a = [l for l in starts if "a.gguf" in l and "-np 2" in l]
b = [l for l in starts if "b.gguf" in l and "-c 1024" in l]
assert a and b, starts[:4]
PY

# kill -9 while model b is asked, then resume: only b's server starts again
cat >kill.py <<'PY'
import glob, os, signal, subprocess, sys, time
lleval = sys.argv[1]
p = subprocess.Popen([lleval, "run", "--config", "mm.yaml", "--run-id", "crash"],
                     stdout=open("crash.out", "w"), stderr=open("crash.err", "w"))
deadline = time.time() + 240
def n(path):
    try:
        return len(open(path).readlines())
    except OSError:
        return 0
while time.time() < deadline and p.poll() is None:
    if n("runs/crash/results/parts/tiny-b/sample_closed/t0/part-001.jsonl") >= 1:
        break
    time.sleep(0.02)
assert p.poll() is None, "the run ended before the kill"
os.kill(p.pid, signal.SIGKILL)
p.wait()
PY
if python3 kill.py "$LLEVAL"; then
	ok "kill -9 while model b is asked"
else
	not_ok "kill -9 while model b is asked"
fi
# the server dies with lleval (LLEVAL_SPAWN_DIE_WITH_PARENT): wait for it to go
python3 - "$work" <<'PY' || true
import os, sys, time
deadline = time.time() + 30
while time.time() < deadline:
    if not any(os.path.exists("/proc/%s" % p) and sys.argv[1].encode() in open("/proc/%s/cmdline" % p, "rb").read()
               for p in os.listdir("/proc") if p.isdigit() and os.path.exists("/proc/%s/cmdline" % p)):
        break
    time.sleep(0.1)
PY
watch crash
expect_exit 0 "resume after kill -9" -- "$LLEVAL" runs resume crash
unwatch crash
check_results runs/crash $((2 * items)) && ok "resume: every request exactly once" ||
	not_ok "results after kill -9 and resume"
expect_grep "model tiny-b: starting llama-server" err.txt "resume: starts model b's server"
expect_no_grep "model tiny-a: starting llama-server" err.txt "resume: a is done, its server is not started"
python3 - crash.watch <<'PY' && ok "resume: one server, b's" || not_ok "resume servers"
import json, sys
w = json.load(open(sys.argv[1]))
assert w["most"] == 1 and set(w["seen"].values()) == {"b.gguf"}, w
PY

# a second model's file that is missing: named before any server starts
llama_config bad.yaml "" 8 "limit_items: 2" "models:" \
	"  - {id: tiny-a, launch: {model: \"$work/a.gguf\"}}" \
	"  - {id: tiny-c, launch: {model: \"$work/missing.gguf\"}}"
sed -i '/^model_id:/d' bad.yaml
expect_exit 3 "a model's missing file stops the run" -- "$LLEVAL" run --config bad.yaml --run-id bad
expect_grep "model 'tiny-c': the model file '.*missing.gguf' is not a readable file" err.txt \
	"the missing file is named with its model"
expect_no_grep "starting llama-server" err.txt "no server was started"

finish
