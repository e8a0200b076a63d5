#!/usr/bin/env bash
# Telemetry end to end on the dry engine with the fake NVML (tests/fakes/fake_nvml.c,
# loaded through LLEVAL_NVML_LIBRARY): the scripted peaks reach each part's state.json
# and the manifest's trial; the legacy fake integrates power; without NVML the status
# says "unavailable: ..." and the run still succeeds; disabled says "disabled"; a
# resumed run keeps what the first session recorded; engine_speed per trial; with a
# provisioned llama-server, the managed server's resident memory.
. "$(dirname "$0")/lib.sh"
: "${LLEVAL_FAKE_NVML:?set LLEVAL_FAKE_NVML to the fake NVML library (ctest does)}"
: "${LLEVAL_FAKE_NVML_LEGACY:?set LLEVAL_FAKE_NVML_LEGACY (ctest does)}"

write_config() { # FILE ENABLED
	cat >"$1" <<YAML
engine: dry
model_id: dry
temps: [0.0]
max_concurrent_jobs: 1
parts_per_dataset: 1
enable_local_telemetry: $2
telemetry_interval_ms: 50
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
paths: {prepared_dir: data/prepared, runs_dir: runs, batches_dir: data/batches}
YAML
}
write_config on.yaml true
write_config off.yaml false
# the peak is on the second line: every sample after the first repeats the third
printf '# mem_used_mib util_pct temp_c power_w\n10000 50 60 200\n14512 87 74 291\n12000 70 70 250\n' >gpu.txt
# 16 requests one at a time, 80 ms each: the run lasts over a second (ticks every 250 ms)
export LLEVAL_DRY_DELAY_MS=80
unset CUDA_VISIBLE_DEVICES LLEVAL_FAKE_NVML_FAIL LLEVAL_FAKE_NVML_UNSUPPORTED

# check RUN_DIR KIND: asserts the telemetry of the part and of the trial (python below)
check() {
	python3 - "$@" <<'PY'
import json, sys
run, kind = sys.argv[1], sys.argv[2]
state = json.load(open(run + "/parts/sample_closed/t0/part-001/state.json"))
manifest = json.load(open(run + "/manifest.json"))
assert manifest["status"] == "done", manifest["status"]
trial = manifest["trials"][0]
speed = trial["engine_speed"]
assert speed == {"prompt_tps": 500.0, "gen_tps": 20.0}, speed  # the dry engine's fixed speeds
for where, tel, tokens in (("state.json", state["telemetry"], state["completion_tokens"]),
                           ("manifest", trial["telemetry"], trial["tokens"]["completion"])):
    what = "%s: %s" % (where, json.dumps(tel))
    assert tel["interval_ms"] == 50, what
    if kind == "disabled":
        assert tel["status"] == "disabled", what
        assert tel["samples"] == 0 and tel["gpu"] is None and tel["host"] is None, what
        continue
    assert tel["samples"] >= 2, what
    assert isinstance(tel["host"], dict), what
    assert tel["host"]["engine_rss_peak_mib"] is None, what  # no managed engine
    if kind == "unavailable":
        assert tel["status"].startswith("unavailable: cannot load '/nonexistent/libnvidia-ml.so.1'"), what
        assert tel["gpu"] is None, what
        continue
    assert tel["status"] == "ok", what
    g = tel["gpu"]
    assert g["name"] == "Fake NVIDIA GPU 0", what
    assert g["memory_total_mib"] == 16303, what
    assert g["memory_used_peak_mib"] == 14512, what
    assert g["utilization_peak_pct"] == 87, what
    assert 50 <= g["utilization_mean_pct"] <= 87, what
    assert g["temperature_peak_c"] == 74, what
    assert 200 <= g["power_mean_w"] <= 291, what
    assert g["energy_j"] > 0, what
    assert tokens > 0 and abs(g["energy_per_token_j"] - g["energy_j"] / tokens) < 1e-6 * g["energy_per_token_j"] + 0.01, what
    assert g["energy_source"] == ("power_integral" if kind == "legacy" else "counter"), what
PY
}

LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML LLEVAL_FAKE_NVML_SCRIPT=$PWD/gpu.txt \
	expect_exit 0 "run with the fake NVML" -- "$LLEVAL" run --config on.yaml --run-id fake
expect_grep "poll: telemetry: ok (every 50 ms)" err.txt "the run says telemetry is on"
check runs/fake ok && ok "scripted peaks in state.json and manifest" || not_ok "telemetry with the fake NVML"

LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML_LEGACY LLEVAL_FAKE_NVML_SCRIPT=$PWD/gpu.txt \
	expect_exit 0 "run with the legacy fake (no _v2 names, no energy counter)" -- "$LLEVAL" run --config on.yaml --run-id legacy -q
check runs/legacy legacy && ok "legacy NVML: fallbacks, energy integrated from power" || not_ok "telemetry with the legacy fake"

LLEVAL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 \
	expect_exit 0 "run without NVML still succeeds" -- "$LLEVAL" run --config on.yaml --run-id nonvml
expect_grep "poll: telemetry: unavailable: cannot load" err.txt "the run says why telemetry is unavailable"
check runs/nonvml unavailable && ok "status unavailable, gpu null, host sampled" || not_ok "telemetry without NVML"

LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML LLEVAL_FAKE_NVML_FAIL=init \
	expect_exit 0 "run with an NVML whose init fails" -- "$LLEVAL" run --config on.yaml --run-id initfail -q
python3 -c "
import json; t = json.load(open('runs/initfail/manifest.json'))['trials'][0]['telemetry']
assert t['status'] == 'unavailable: nvmlInit failed: Driver Not Loaded', t" &&
	ok "init failure named in the status" || not_ok "init failure status"

LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML \
	expect_exit 0 "run with telemetry disabled" -- "$LLEVAL" run --config off.yaml --run-id off -q
check runs/off disabled && ok "status disabled" || not_ok "telemetry disabled"

# running the finished run again (no NVML now) keeps the first session's numbers
cp runs/fake/parts/sample_closed/t0/part-001/state.json before-state.json
python3 -c "
import json; print(json.dumps(json.load(open('runs/fake/manifest.json'))['trials'][0]['telemetry'], sort_keys=True))" >before-trial.json
LLEVAL_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1 \
	expect_exit 0 "run the finished run again" -- "$LLEVAL" run --config on.yaml --run-id fake -q
python3 - <<'PY' && ok "resumed run keeps the recorded telemetry" || not_ok "resumed run lost telemetry"
import json
old = json.load(open("before-state.json"))["telemetry"]
new = json.load(open("runs/fake/parts/sample_closed/t0/part-001/state.json"))["telemetry"]
assert old == new, (old, new)
trial = json.load(open("runs/fake/manifest.json"))["trials"][0]
assert json.dumps(trial["telemetry"], sort_keys=True) == open("before-trial.json").read().strip(), trial["telemetry"]
assert trial["engine_speed"] == {"prompt_tps": 500.0, "gen_tps": 20.0}, trial["engine_speed"]
PY

# a managed llama-server (launch section): its resident memory is sampled too
cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
bindir="${LLEVAL_LLAMA_BIN_DIR:-$cache/llama.cpp-nlc-3.21.1/bin}"
model="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}/models/llama-2-tiny-random.gguf"
if [ -x "$bindir/llama-server" ] && [ -f "$model" ]; then
	cat >managed.yaml <<YAML
engine: llamacpp
model_id: tiny
temps: [0.0]
max_concurrent_jobs: 2
max_new_tokens: 8
enable_local_telemetry: true
telemetry_interval_ms: 250
launch: {model: "$model", binary: "$bindir"}
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
paths: {prepared_dir: data/prepared, runs_dir: runs, batches_dir: data/batches}
YAML
	LLEVAL_NVML_LIBRARY=$LLEVAL_FAKE_NVML expect_exit 0 "run with a managed llama-server" -- \
		"$LLEVAL" run --config managed.yaml --run-id managed --limit_items 4 -q
	python3 -c "
import json; t = json.load(open('runs/managed/manifest.json'))['trials'][0]
rss = t['telemetry']['host']['engine_rss_peak_mib']
assert isinstance(rss, int) and rss > 0, t['telemetry']
assert t['engine_speed']['gen_tps'] > 0, t['engine_speed']" &&
		ok "engine_rss_peak_mib of the managed server, engine_speed from llama-server" ||
		not_ok "managed server telemetry"
else
	echo "skip - no provisioned llama-server or tiny model: managed engine RSS not checked"
fi

finish
