#!/usr/bin/env bash
# engine fireworks_batch end to end against tests/fakes/fake_fireworks.py: a clean run; each
# fault (429 on create, output lines out of order and duplicated, an unknown custom_id, a
# download cut mid-body, a job that expires half done, error rows); kill -9 of lleval between
# the upload and the job's creation (both before and after the create reached the service),
# during polling and during a download, then `runs resume`: nothing created twice (the fake's
# request log), nothing lost, the same predictions and scores as the clean run; `runs stop`
# leaves the jobs running, `runs stop --cancel` deletes them. The API key goes to the API only:
# never to the storage URLs, never into a file.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
source "$LLEVAL_SOURCE_DIR/tests/cli/lib.sh"

export LLEVAL_FW_KEY=fw-e2e-secret-0123456789
ACCOUNT=acct-e2e
MODEL=accounts/fireworks/models/llama-v3p1-8b-instruct

python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_fireworks.py" --api-key "$LLEVAL_FW_KEY" \
	--account "$ACCOUNT" --model "$MODEL" --job-ms 400 >fake.out 2>fake.err &
fake_pid=$!
lleval_pid=
run_err=
cleanup() {
	[ -n "$lleval_pid" ] && kill -9 "$lleval_pid" 2>/dev/null || true
	kill "$fake_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
port=$(fake_port fake.out "$fake_pid")
[ -n "$port" ] || { echo "the fake did not start"; cat fake.err; exit 1; }
fake="http://127.0.0.1:$port"

cat >fw.yaml <<YAML
engine: fireworks_batch
model_id: $MODEL
base_url: $fake/v1
api_key_env: LLEVAL_FW_KEY
temps: [0.0]
parts_per_dataset: 2
max_retries: 5
batch: {account_id: $ACCOUNT, poll_interval_ms: 50, max_attempts: 3}
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
PARTS=4
REQUESTS=26

fault() { curl -sf -d "$1" "$fake/__fault" >/dev/null; }
reset_fake() {
	curl -sf -d '{}' "$fake/__reset" >/dev/null
	fault '{"create_429":0,"expire_half":0,"fail_job":0,"error_every":0,"shuffle":false,
		"duplicate_every":0,"unknown_id":false,"drop_download":0,"hold_before":[],
		"hold_after":[],"job_ms":400}'
}

# log_count OP STATUS: requests of that operation the fake answered with STATUS (any: "*")
log_count() {
	curl -sf "$fake/__log" | python3 -c '
import json, sys
op, status = sys.argv[1], sys.argv[2]
print(sum(1 for e in json.load(sys.stdin) if e["op"] == op and
          (status == "*" or str(e["status"]) == status)))' "$1" "$2"
}

# wait_log OP [held]: until the fake has seen OP (held there, with "held"); 90 s at most
wait_log() {
	local i
	for i in $(seq 900); do
		if curl -sf "$fake/__log" | python3 -c '
import json, sys
op, held = sys.argv[1], sys.argv[2] == "held"
sys.exit(0 if any(e["op"] == op and (e["held"] or not held) for e in json.load(sys.stdin))
         else 1)' "$1" "${2:-}"; then
			return 0
		fi
		sleep 0.1
	done
	echo "    timed out waiting for $1 ${2:-} in the fake's log"
	return 1
}

# digest RUN: what must not depend on how the run went (answers, statuses, tokens, scores)
digest() {
	python3 - "runs/$1" <<'PY'
import csv, json, sys
run = sys.argv[1]
rows = sorted((r["custom_id"], r["status"], r["finish_reason"], r["prediction"],
               r["prompt_tokens"], r["completion_tokens"], r["error"])
              for r in csv.DictReader(open(run + "/results/predictions.csv", newline="")))
groups = json.load(open(run + "/results/scores.json"))["groups"]
print(json.dumps([rows, groups], sort_keys=True))
PY
}

# journaled RUN: "<lines> <distinct custom_ids>" over the run's result journals
journaled() {
	python3 - "runs/$1" <<'PY'
import glob, json, sys
ids = [json.loads(l)["custom_id"] for p in glob.glob(sys.argv[1] + "/results/parts/*/*/*.jsonl")
       for l in open(p) if l.strip()]
print(len(ids), len(set(ids)))
PY
}

# check_once RUN WHAT: every part made, uploaded and submitted exactly once, nothing lost,
# the same answers and scores as the clean run
check_once() {
	local run=$1 what=$2 n
	for op in create_dataset upload create_job; do
		n=$(log_count "$op" 200)
		[ "$n" -eq "$PARTS" ] && ok "$what: $op succeeded once per part ($n)" ||
			not_ok "$what: $op succeeded $n times for $PARTS parts"
	done
	[ "$(log_count create_job 409)" -eq 0 ] && ok "$what: no job created twice (no 409)" ||
		not_ok "$what: a job was created again (409)"
	[ "$(journaled "$run")" = "$REQUESTS $REQUESTS" ] && ok "$what: $REQUESTS results, each once" ||
		not_ok "$what: journals hold $(journaled "$run") (lines, distinct), wanted $REQUESTS"
	[ "$(digest "$run")" = "$clean" ] && ok "$what: the same predictions and scores as the clean run" ||
		not_ok "$what: predictions or scores differ from the clean run"
}

# start_run RUN [resume]: lleval in the background (pid in lleval_pid)
start_run() {
	if [ "${2:-}" = resume ]; then
		"$LLEVAL" runs resume "$1" >"$1.bg.out" 2>"$1.bg.err" &
	else
		"$LLEVAL" run --config fw.yaml --run-id "$1" -q >"$1.bg.out" 2>"$1.bg.err" &
	fi
	lleval_pid=$!
	run_err=$1.bg.err
}

kill9() {
	if kill -9 "$lleval_pid" 2>/dev/null; then
		ok "lleval killed with SIGKILL mid-run"
	else
		not_ok "lleval had ended before the kill: $(tail -3 "$run_err" 2>/dev/null)"
	fi
	wait "$lleval_pid" 2>/dev/null || true
	lleval_pid=
}

# ---- a clean run -----------------------------------------------------------------------------
reset_fake
expect_exit 0 "a clean run" -- "$LLEVAL" run --config fw.yaml --run-id fwclean -q
clean=$(digest fwclean)
check_once fwclean "clean"
[ "$(curl -sf "$fake/__stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["auth_to_storage"])')" -eq 0 ] &&
	ok "the key was never sent to a storage URL" || not_ok "the key went to a storage URL"
if grep -rqF "$LLEVAL_FW_KEY" runs out.txt err.txt; then not_ok "the API key was written somewhere"; else
	ok "the API key appears in no file"
fi
if python3 - runs/fwclean <<'PY'; then
import glob, json, sys
remotes = [json.load(open(p)).get("remote") or {}
           for p in glob.glob(sys.argv[1] + "/parts/*/*/*/state.json")]
sys.exit(0 if len(remotes) == 4 and all(str(r.get("input_id", "")).startswith("lleval-") and
                                        r.get("job_id") for r in remotes) else 1)
PY
	ok "every part's state.json records its dataset and job ids"
else
	not_ok "state.json lacks the remote ids"
fi

# ---- faults: 429 on create, lines shuffled and duplicated, an unknown id, a cut download -------
reset_fake
fault '{"create_429":2,"shuffle":true,"duplicate_every":2,"unknown_id":true,"drop_download":1}'
expect_exit 0 "429s, shuffled and duplicated lines, an unknown id, a cut download" -- \
	"$LLEVAL" run --config fw.yaml --run-id fwfault -q
[ "$(log_count create_job 429)" -eq 2 ] && ok "faults: two creates answered 429, retried" ||
	not_ok "faults: $(log_count create_job 429) 429s"
check_once fwfault "faults"
grep -rqiE "duplicate" err.txt runs/fwfault/logs && ok "faults: the duplicates are reported" ||
	not_ok "faults: no report of the duplicate lines"
grep -rqiE "unknown" err.txt runs/fwfault/logs && ok "faults: the unknown custom_id is reported" ||
	not_ok "faults: no report of the unknown custom_id"

# ---- a job that expires half done: exactly the missing requests are resubmitted --------------
reset_fake
fault '{"expire_half":1}'
expect_exit 0 "a job that expires half done" -- "$LLEVAL" run --config fw.yaml --run-id fwexpire -q
n=$(log_count create_job 200)
[ "$n" -eq $((PARTS + 1)) ] && ok "expire: one more job, for the missing requests" ||
	not_ok "expire: $n jobs created, wanted $((PARTS + 1))"
if python3 - "$fake" <<'PY'; then
import json, sys, urllib.request
stats = json.load(urllib.request.urlopen(sys.argv[1] + "/__stats"))
jobs = {k: v for k, v in stats["jobs"].items() if "-fwexpire-" in k}  # this run's jobs
expired = [j for j in jobs.values() if j["state"] == "JOB_STATE_EXPIRED"]
if len(expired) != 1:
    sys.exit(1)
e = expired[0]["jobProgress"]
missing = e["totalInputRequests"] - e["totalProcessedRequests"]
sizes = sorted(j["jobProgress"]["totalInputRequests"] for j in jobs.values())
sys.exit(0 if missing > 0 and missing in sizes and len(jobs) == 5 else 1)
PY
	ok "expire: the new job's dataset holds exactly the missing requests"
else
	not_ok "expire: the resubmitted job does not hold the missing requests"
fi
[ "$(journaled fwexpire)" = "$REQUESTS $REQUESTS" ] && [ "$(digest fwexpire)" = "$clean" ] &&
	ok "expire: nothing lost, the same predictions and scores" || not_ok "expire: results differ"

# ---- error rows: failed results with Fireworks' message, not resubmitted ----------------------
reset_fake
fault '{"error_every":4}'
expect_exit 1 "error rows: failed requests (exit 1)" -- "$LLEVAL" run --config fw.yaml --run-id fwerr -q
[ "$(log_count create_job 200)" -eq "$PARTS" ] && ok "error rows: no resubmission" ||
	not_ok "error rows: resubmitted"
grep -q 'refused the input' runs/fwerr/results/predictions.csv &&
	ok "error rows: Fireworks' message is in predictions.csv" || not_ok "error rows: message lost"

# ---- kill -9 after the upload, before the job is created --------------------------------------
reset_fake
fault '{"hold_after":["upload"]}'
start_run fwkill1
wait_log upload held && kill9
fault '{"hold_after":[]}'
expect_exit 0 "killed after an upload: resumed" -- "$LLEVAL" runs resume fwkill1
check_once fwkill1 "killed after an upload"
[ "$(log_count get_dataset 200)" -ge 1 ] && ok "killed after an upload: the dataset was looked up" ||
	not_ok "killed after an upload: no lookup"

# ---- kill -9 while the create is at the service (it is made, the reply is lost) ---------------
reset_fake
fault '{"hold_after":["create_job"]}'
start_run fwkill2
wait_log create_job held && kill9
fault '{"hold_after":[]}'
expect_exit 0 "killed while creating a job: resumed" -- "$LLEVAL" runs resume fwkill2
check_once fwkill2 "killed while creating a job"
[ "$(log_count get_job 200)" -ge 1 ] && ok "killed while creating a job: the job was looked up" ||
	not_ok "killed while creating a job: no lookup"

# ---- kill -9 during polling -------------------------------------------------------------------
reset_fake
fault '{"job_ms":4000,"hold_after":["get_job"]}' # a status check held: lleval is polling
start_run fwkill3
wait_log get_job held && kill9
fault '{"job_ms":400,"hold_after":[]}'
expect_exit 0 "killed during polling: resumed" -- "$LLEVAL" runs resume fwkill3
check_once fwkill3 "killed during polling"

# ---- kill -9 during a download ----------------------------------------------------------------
reset_fake
fault '{"hold_before":["storage_get"]}'
start_run fwkill4
wait_log storage_get held && kill9
fault '{"hold_before":[]}'
expect_exit 0 "killed during a download: resumed" -- "$LLEVAL" runs resume fwkill4
check_once fwkill4 "killed during a download"

# ---- runs stop leaves the jobs running; runs stop --cancel deletes them ------------------------
reset_fake
fault '{"job_ms":60000}'
start_run fwstop
wait_log get_job
expect_exit 0 "runs stop" -- "$LLEVAL" runs stop fwstop --wait
wait "$lleval_pid" 2>/dev/null || true
lleval_pid=
[ "$(log_count delete_job '*')" -eq 0 ] && ok "runs stop: no job deleted" || not_ok "runs stop deleted jobs"
grep -rqi "left running at the provider" fwstop.bg.err fwstop.bg.out && ok "runs stop: says the jobs run on" ||
	not_ok "runs stop: does not say the jobs are left running"
curl -sf -d '{}' "$fake/__reset" >/dev/null # the log only: the resumed session's own polls
start_run fwstop resume
wait_log get_job
expect_exit 0 "runs stop --cancel" -- "$LLEVAL" runs stop fwstop --cancel --wait
wait "$lleval_pid" 2>/dev/null || true
lleval_pid=
n=$(log_count delete_job 200)
[ "$n" -ge 1 ] && ok "runs stop --cancel: $n jobs deleted" || not_ok "runs stop --cancel: no job deleted"
fault '{"job_ms":400}'
expect_exit 0 "cancelled run resumed" -- "$LLEVAL" runs resume fwstop
[ "$(journaled fwstop)" = "$REQUESTS $REQUESTS" ] && [ "$(digest fwstop)" = "$clean" ] &&
	ok "cancelled, resumed: nothing lost, the same predictions and scores" ||
	not_ok "cancelled, resumed: results differ"

# ---- --dry_run still answers locally ------------------------------------------------------------
reset_fake
expect_exit 0 "--dry_run contacts no provider" -- "$LLEVAL" run --config fw.yaml --run-id fwdry --dry_run -q
[ "$(curl -sf "$fake/__log" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -eq 0 ] &&
	ok "--dry_run: the fake saw no request" || not_ok "--dry_run: requests reached the fake"

# ---- no account id, a wrong key, another account: a clear error, nothing made ----------------
reset_fake
grep -v '^batch:' fw.yaml >noacct.yaml
echo "batch: {poll_interval_ms: 50}" >>noacct.yaml
expect_exit 2 "no batch.account_id (exit 2)" -- "$LLEVAL" run --config noacct.yaml --run-id fwnoacct -q
expect_grep 'set batch.account_id' err.txt "the message says to set batch.account_id"
expect_exit 3 "a wrong key (exit 3)" -- env LLEVAL_FW_KEY=fw-wrong-key-42 "$LLEVAL" run --config fw.yaml \
	--run-id fwbadkey -q
expect_grep 'HTTP 403: The API key you provided is invalid' err.txt "the message gives Fireworks' reason"
expect_exit 3 "another account (exit 3)" -- "$LLEVAL" run --config fw.yaml --run-id fwother \
	--set batch.account_id=someone-else -q
expect_grep "permission denied on account 'someone-else'" err.txt "the message names the account"
[ "$(log_count create_dataset 200)" -eq 0 ] && ok "nothing was made with a wrong key or account" ||
	not_ok "a dataset was made with a wrong key or account"

if grep -rqF "$LLEVAL_FW_KEY" runs ./*.out ./*.err out.txt err.txt 2>/dev/null; then
	not_ok "the API key was written somewhere"
else
	ok "the API key appears in no file of any run"
fi
finish
