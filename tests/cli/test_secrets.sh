#!/usr/bin/env bash
# End to end: no secret reaches disk or a report (issue 9). Whole evaluations
# with an API key in the environment and a password in base_url run against a
# hostile fake OpenAI server that echoes the key in answers, error texts, a
# malformed body and headers; then every file under the run and the prepared
# data, and the output of run, doctor, report and runs list, are searched for
# the key and the password.
source "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1; then
	echo "skip - python3 is not installed: the fake engines need it"
	exit 0
fi

fakes="$LLEVAL_SOURCE_DIR/tests/fakes"
fake_pid=
trap '[ -n "$fake_pid" ] && { kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true; }; rm -rf "$work"' EXIT

export LLEVAL_SECRET_KEY=sk-hostile-Zq81xK0pW3
password=Pw9xHoStIlE77
python3 "$fakes/fake_openai.py" --require-key "$LLEVAL_SECRET_KEY" --echo-key >fake.out 2>fake.err &
fake_pid=$!
for _ in $(seq 1 100); do
	grep -q '^PORT ' fake.out 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' fake.out | head -n 1)
[ -n "$port" ] || { not_ok "the fake did not start"; finish; exit 1; }

cat >s.yaml <<YAML
engine: openai
base_url: http://alice:$password@127.0.0.1:$port/v1
model_id: gpt-fake
api_key_env: LLEVAL_SECRET_KEY
temps: [0.0]
max_concurrent_jobs: 2
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML

# each command's output goes to its own files, searched below with the run
"$LLEVAL" run --config s.yaml --run-id hostile --limit-items 12 >run.out 2>run.err || true
[ -f runs/hostile/manifest.json ] && ok "the run left its artifacts" || not_ok "no run directory"
grep -q '"echo_key": [1-9]' <(python3 -c "import json, urllib.request; print(json.dumps(json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['faults_injected']))") &&
	ok "the fake echoed the key" || not_ok "the fake never echoed the key"
# resumed, the saved base_url holds "[redacted]@": the resume refuses before
# any request (it would send "[redacted]" as the credentials) and says what to do
stats() { python3 -c "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$port/__stats'))['requests'])"; }
before=$(stats)
rc=0
"$LLEVAL" runs resume hostile >resume.out 2>resume.err || rc=$?
[ "$rc" -eq 2 ] && ok "runs resume of a run whose base_url had credentials: exit 2" ||
	not_ok "runs resume: exit $rc, wanted 2: $(head -c 300 resume.err)"
grep -qF "base_url 'http://[redacted]@127.0.0.1:$port/v1' had credentials" resume.err &&
	grep -qF "config.resolved.yaml" resume.err && grep -qF -- "--base_url" resume.err &&
	ok "the refusal names the base_url, the file and what to do" || not_ok "refusal: $(cat resume.err)"
[ "$(stats)" = "$before" ] && ok "the refused resume sent no request" || not_ok "the resume sent requests"
"$LLEVAL" doctor hostile >doctor.out 2>doctor.err || true
"$LLEVAL" report hostile >report.out 2>report.err || true
"$LLEVAL" runs list >list.out 2>list.err || true
"$LLEVAL" runs list --json >listj.out 2>listj.err || true
"$LLEVAL" config show --config s.yaml >show.out 2>show.err || true
[ -f runs/hostile/report.md ] && ok "the report was written" || not_ok "no report.md"
grep -rq 'your key is' runs/hostile/results && ok "the echoed answers were recorded" ||
	not_ok "no echoed answer recorded"

for secret in "$LLEVAL_SECRET_KEY" "$password"; do
	leaks=$(grep -rlF -- "$secret" runs data ./*.out ./*.err 2>/dev/null | grep -v '^fake\.' || true)
	if [ -z "$leaks" ]; then
		ok "'${secret:0:6}...' is in no file and no output"
	else
		not_ok "'${secret:0:6}...' leaked into: $(echo "$leaks" | tr '\n' ' ')"
		grep -rnF -- "$secret" $leaks | head -5 | sed 's/^/    /'
	fi
done
grep -rqF '[redacted]' runs/hostile && ok "secrets are marked [redacted]" || not_ok "no [redacted] mark"
finish
