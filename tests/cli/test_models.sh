#!/usr/bin/env bash
# Several models in one run (issue 11, point 3): model_id as a list runs every
# model x dataset x temperature, model after model, with per-model batch and
# journal folders and custom_ids that carry the model; the summary and
# scores.json carry per-model groups and a leaderboard with McNemar tests;
# a kill -9 and a resume keep every request exactly once; on Ollama each
# model is unloaded (keep_alive 0) before the next model's first request.
source "$(dirname "$0")/lib.sh"

cat >mm.yaml <<'YAML'
engine: dry
model_id: [alpha, "beta:7b"]
temps: [0.0, 0.7]
parts_per_dataset: 2
max_concurrent_jobs: 3
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML

LLEVAL_DRY_LOG=$PWD/asked-ref.log expect_exit 0 "a dry run of two models" -- \
	"$LLEVAL" run --config mm.yaml --run-id ref
cp out.txt ref.out
cp err.txt ref.err
expect_grep "leaderboard" ref.out "the summary prints a leaderboard"
expect_grep "alpha vs beta:7b: 52 paired items" ref.out "the models are paired on every item"
expect_grep "McNemar exact p = " ref.out "with McNemar's exact p"
expect_grep "^alpha/sample_closed" ref.out "the table's rows name the model"
if grep -q "repeated" ref.out ref.err; then not_ok "rows of two models counted as repeats"; else
	ok "no row is a repeat"; fi
expect_grep "poll: model beta:7b unloaded\|poll: model beta:7b: 52 requests" ref.err \
	"the poll asks the models in turn"
expect_grep "^model_id: \[alpha, \"beta:7b\"\]" runs/ref/config.resolved.yaml \
	"config.resolved.yaml keeps the list"
expect_grep "beta:7b/sample_closed" runs/ref/report.html "the report's score rows name the model"
expect_exit 0 "runs list" -- "$LLEVAL" runs list
expect_grep "^ref  *alpha +1  *dry " out.txt "runs list names the first model and how many more"
expect_exit 0 "runs list --json" -- "$LLEVAL" runs list --json
python3 - <<'PY' && ok "runs list --json names every model of the run" ||
import json
runs = {r["run_id"]: r for r in json.load(open("out.txt"))}
assert runs["ref"]["model"] == "alpha", runs["ref"]
assert runs["ref"]["models"] == ["alpha", "beta:7b"], runs["ref"]
PY
	not_ok "runs list --json names every model of the run"
python3 - <<'PY' && ok "report.html and report.md show the leaderboard and the paired test" ||
import json, re
s = json.load(open("runs/ref/results/scores.json"))["leaderboard"]
html = open("runs/ref/report.html").read()
sec = html[html.index('<section id="leaderboard">'):]
sec = sec[:sec.index("</section>")]
assert html.index('id="leaderboard"') < html.index('id="scores"')
for m in s["models"]:
    v, (lo, hi) = m["correct"]["value"], m["correct"]["ci95"]
    row = "<td>%s</td><td class=\"n\">%d</td><td class=\"n\">%.1f</td><td class=\"n\">[%.1f, %.1f]</td>" % (
        m["model"], m["correct"]["n"], v, lo, hi)
    assert row in sec, row
groups = json.load(open("runs/ref/results/scores.json"))["groups"]
for m in s["models"]:  # each model's finish reasons, summed from its groups
    g = [x for x in groups if x.get("model") == m["model"] and not x["overall"]]
    n = sum(sum(x["finish_reason"].values()) for x in g)
    cut = 100.0 * sum(x["finish_reason"]["length"] for x in g) / n
    f1, co = m["f1"], m["contains"]
    row = ("[%.1f, %.1f]</td><td class=\"n\">%.1f</td><td class=\"n\">[%.1f, %.1f]</td>"
           "<td class=\"n\">%.1f</td><td class=\"n\">[%.1f, %.1f]</td>"
           "<td class=\"n\">%.1f</td><td class=\"n\">%d</td></tr>") % (
        m["correct"]["ci95"][0], m["correct"]["ci95"][1], f1["value"], f1["ci95"][0],
        f1["ci95"][1], co["value"], co["ci95"][0], co["ci95"][1], cut,
        sum(x["finish_reason"]["error"] for x in g))
    assert row in sec, (row, sec)
# F1 and contains: the mean over the model's QA items of items.jsonl
items = [json.loads(l) for l in open("runs/ref/results/items.jsonl")]
for m in s["models"]:
    qa = [i for i in items if i["custom_id"].startswith(m["model"].replace(":", "%3A") + ":")
          and i["type"] != "multiple_choice"]
    assert qa and m["f1"]["n"] == len(qa), (m["f1"], len(qa))
    assert abs(m["f1"]["value"] - 100.0 * sum(i["f1"] for i in qa) / len(qa)) < 1e-6, m
    assert abs(m["contains"]["value"] - 100.0 * sum(i["contains"] for i in qa) / len(qa)) < 1e-6
p = s["pairs"][0]
assert "<td>alpha</td><td>beta:7b</td><td class=\"n\">52</td>" in sec, sec
assert ("%.4g" % p["mcnemar_p"]) in sec
md = open("runs/ref/report.md").read()
assert "## Leaderboard (95% CI; F1 and contains over QA items)" in md
assert re.search(r"\| [12] \| beta\\:7b \| 52 \| ", md), md  # ":" escaped (autolinks)
assert "| alpha | beta\\:7b | 52 | %d | %d |" % (p["a_only"], p["b_only"]) in md
PY
	not_ok "the report's leaderboard"
# which items did model A get wrong that B got right: runs compare on two models of one run
expect_exit 0 "runs compare of two models of one run" -- \
	"$LLEVAL" runs compare ref --model-a alpha --model-b beta:7b --json
python3 - <<'PY' && ok "compare's flips are the leaderboard's discordant pairs, ids without the model" ||
import json
d = json.load(open("out.txt"))
p = json.load(open("runs/ref/results/scores.json"))["leaderboard"]["pairs"][0]
assert d["model_a"] == "alpha" and d["model_b"] == "beta:7b", d
assert d["paired_items"] == p["n"] and d["only_in_a"] == 0 == d["only_in_b"], (d, p)
a = [f for f in d["flips"] if f["better"] == "a"]
b = [f for f in d["flips"] if f["better"] == "b"]
assert (len(a), len(b)) == (p["a_only"], p["b_only"]), (len(a), len(b), p)
assert all(not f["custom_id"].startswith(("alpha:", "beta")) for f in d["flips"]), d["flips"][:3]
PY
	not_ok "compare of two models"
expect_exit 0 "runs compare of two models, as a table" -- \
	"$LLEVAL" runs compare ref --model-a alpha --model-b beta:7b
expect_grep "ref model alpha (A) vs ref model beta:7b (B)" out.txt "the table names both models"
expect_exit 2 "runs compare with a model the run lacks" -- \
	"$LLEVAL" runs compare ref --model-a alpha --model-b gamma
expect_grep "no scored item of model 'gamma'" err.txt "the error names the missing model"
expect_exit 2 "runs compare with one run id and no models" -- "$LLEVAL" runs compare ref
expect_exit 0 "runs items --model" -- "$LLEVAL" runs items ref --model beta:7b --wrong --json
python3 - <<'PY' && ok "runs items --model lists that model's items only" || not_ok "runs items --model"
import json
rows = [json.loads(l) for l in open("out.txt")]
every = [json.loads(l) for l in open("runs/ref/results/items.jsonl")]
want = [r["custom_id"] for r in every if r["custom_id"].startswith("beta%3A7b:") and not r["correct"]]
assert [r["custom_id"] for r in rows] == want and want, (len(rows), len(want))
PY
# model text is escaped in the report's leaderboard
cat >esc.yaml <<'YAML'
engine: dry
model_id: [alpha, "<i>b|x</i>"]
temps: [0.0]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 0 "a model name with markup" -- "$LLEVAL" run --config esc.yaml --run-id esc -q
expect_grep "<td>&lt;i&gt;b|x&lt;/i&gt;</td>" runs/esc/report.html "report.html escapes the model name"
if grep -q "<i>b" runs/esc/report.html; then not_ok "raw model markup in report.html"; else
	ok "no raw model markup in report.html"; fi
expect_grep '| &lt;i\\>b\\|x&lt;/i\\> |' runs/esc/report.md "report.md escapes the model name"
# ... and wherever the doctor names it: the report's header and Doctor section, --json
expect_grep "<dt>models</dt><dd>alpha, &lt;i&gt;b|x&lt;/i&gt;</dd>" runs/esc/report.html "report.html's header lists the models, escaped"
expect_grep "truncation in &lt;i&gt;b|x&lt;/i&gt;/sample_closed/t0" runs/esc/report.html "report.html's Doctor section escapes the model name"
expect_grep 'truncation in &lt;i\\>b\\|x&lt;/i\\>/sample\\_closed/t0' runs/esc/report.md "report.md's Doctor section escapes the model name"
expect_exit 1 "doctor --json names the model of each finding" -- "$LLEVAL" doctor esc --json
python3 - out.txt <<'PY' && ok "doctor --json: each finding's model" || not_ok "doctor --json models"
import json, sys
d = json.load(open(sys.argv[1]))
assert [f.get("model") for f in d["findings"]] == ["alpha", "<i>b|x</i>"], d["findings"]
assert [m["model_id"] for m in d["facts"]["models"]] == ["alpha", "<i>b|x</i>"]
PY
# a control character in a model id reaches no terminal raw
cat >ctl.yaml <<'YAML'
engine: dry
model_id: [alpha, "b\e[31m"]
temps: [0.0]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 0 "a model name with a control character" -- "$LLEVAL" run --config ctl.yaml --run-id ctl -q
expect_exit 1 "doctor names that model" -- "$LLEVAL" doctor ctl
expect_grep 'truncation in b\\x1b\[31m/sample_closed/t0' out.txt "doctor prints the model's control character escaped"
if grep -q "$(printf '\033')" out.txt; then not_ok "doctor printed a raw ESC"; else ok "doctor printed no raw ESC"; fi

python3 - <<'PY' && ok "files, custom_ids, order and scores per model" || not_ok "files per model"
import csv, glob, json, os
run = "runs/ref"
for m in ("alpha", "beta%3A7b"):
    for ds in ("sample_closed", "sample_mc"):
        for t in ("t0", "t0.7"):
            for p in ("part-001", "part-002"):
                assert os.path.isfile("%s/batches/%s/%s/%s/%s.jsonl" % (run, m, ds, t, p)), (m, ds, t, p)
                assert os.path.isfile("%s/results/parts/%s/%s/%s/%s.jsonl" % (run, m, ds, t, p))
                assert os.path.isfile("%s/parts/%s/%s/%s/%s/state.json" % (run, m, ds, t, p))
b = [json.loads(l) for l in open(run + "/batches/beta%3A7b/sample_mc/t0/part-001.jsonl")]
assert all(r["custom_id"].startswith("beta%3A7b:sample_mc:") for r in b), b[0]["custom_id"]
assert all(r["body"]["model"] == "beta:7b" for r in b)
rows = list(csv.DictReader(open(run + "/results/predictions.csv", newline="")))
assert len(rows) == 104 and len({r["custom_id"] for r in rows}) == 104, len(rows)
# the dry engine's answers depend on the model: the two differ somewhere
by = {}
for r in rows:
    model, rest = r["custom_id"].split(":", 1)
    by.setdefault(rest, {})[model] = r["prediction"]
assert len(by) == 52 and any(v["alpha"] != v["beta%3A7b"] for v in by.values())
# asked model after model: every alpha request before the first beta one
asked = [l.strip() for l in open("asked-ref.log") if l.strip()]
first_beta = min(i for i, c in enumerate(asked) if c.startswith("beta"))
assert all(c.startswith("alpha:") for c in asked[:first_beta]) and first_beta == 52, first_beta
assert all(c.startswith("beta%3A7b:") for c in asked[first_beta:])
s = json.load(open(run + "/results/scores.json"))
models = {g.get("model") for g in s["groups"]}
assert models == {"alpha", "beta:7b"}, models
lb = s["leaderboard"]
assert [m["model"] for m in lb["models"]] == ["alpha", "beta:7b"]
assert all(m["correct"]["n"] == 52 and m["correct"]["ci95"] for m in lb["models"])
p = lb["pairs"][0]
assert (p["a"], p["b"], p["n"]) == ("alpha", "beta:7b", 52) and 0 <= p["mcnemar_p"] <= 1
m = json.load(open(run + "/manifest.json"))
assert len(m["trials"]) == 8 and {t.get("model") for t in m["trials"]} == {"alpha", "beta:7b"}
assert m["trials"][0]["trial"] == "alpha/sample_closed/t0", m["trials"][0]["trial"]
PY

# a single model stays as it was: no model in ids, folders, groups or the manifest
cat >one.yaml <<'YAML'
engine: dry
model_id: [alpha]
temps: [0.0]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 0 "a list of one model" -- "$LLEVAL" run --config one.yaml --run-id one -q
python3 - <<'PY' && ok "a list of one model is a one-model run" || not_ok "one model"
import json, os
run = "runs/one"
assert os.path.isfile(run + "/batches/sample_closed/t0/part-001.jsonl")
assert json.loads(open(run + "/batches/sample_closed/t0/part-001.jsonl").readline())["custom_id"].startswith("sample_closed:")
s = json.load(open(run + "/results/scores.json"))
assert "leaderboard" not in s and all("model" not in g for g in s["groups"])
assert all("model" not in t for t in json.load(open(run + "/manifest.json"))["trials"])
PY

# kill -9 during the run, then resume: every request once, the same predictions as ref
python3 - "$LLEVAL" <<'PY' && ok "kill -9 and resume: exactly once per model" ||
import glob, json, os, signal, subprocess, sys, time
lleval = sys.argv[1]
env = dict(os.environ, LLEVAL_DRY_DELAY_MS="30", LLEVAL_DRY_LOG=os.path.abspath("asked.log"))
def journaled():
    ids = []
    for path in glob.glob("runs/crash/results/parts/*/*/*/*.jsonl"):
        for line in open(path, "rb").read().split(b"\n"):
            try:
                ids.append(json.loads(line)["custom_id"])
            except Exception:
                pass
    return ids
for target in (20, 70):  # once in the first model, once in the second
    p = subprocess.Popen([lleval, "run", "--config", "mm.yaml", "--run-id", "crash", "-q"],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(journaled()) < target and p.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    before = set(journaled())
    offset = os.path.getsize("asked.log")
    assert len(before) < 104, len(before)
    # resume once to the end when it is the last kill
    if target == 70:
        r = subprocess.run([lleval, "runs", "resume", "crash", "-q"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert r.returncode == 0, r.stderr
        again = [l.strip() for l in open("asked.log").read()[offset:].split("\n") if l.strip()]
        assert not before & set(again), "asked again: %s" % sorted(before & set(again))[:3]
ids = journaled()
assert len(ids) == 104 and len(set(ids)) == 104, (len(ids), len(set(ids)))
import csv
def answers(run):  # latency differs (LLEVAL_DRY_DELAY_MS); the answers may not
    rows = csv.DictReader(open(run + "/results/predictions.csv", newline=""))
    return [(r["custom_id"], r["status"], r["finish_reason"], r["prediction"]) for r in rows]
# in custom_id order: within a part, the journal keeps the order answers came back in
assert sorted(answers("runs/ref")) == sorted(answers("runs/crash")), "answers differ from the uninterrupted run"
ref = json.load(open("runs/ref/results/scores.json"))["leaderboard"]
got = json.load(open("runs/crash/results/scores.json"))["leaderboard"]
assert ref == got, "the leaderboard differs from the uninterrupted run"
PY
	not_ok "kill -9 and resume of two models"

# a managed llama-server per model needs a file per model: a model_id list with launch is refused
cat >launch.yaml <<'YAML'
engine: llamacpp
model_id: [a, b]
launch: {model: m.gguf}
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 2 "a model list with launch is refused" -- "$LLEVAL" run --config launch.yaml -q
expect_grep "list the models under 'models:'" err.txt "the refusal says why"

# Ollama: each model is unloaded before the next model's first request
if command -v python3 >/dev/null 2>&1; then
	python3 "$LLEVAL_SOURCE_DIR/tests/fakes/fake_ollama.py" --model m1:latest --model m2:latest \
		>ollama.out 2>ollama.err &
	fake=$!
	trap 'kill "$fake" 2>/dev/null || true; wait "$fake" 2>/dev/null || true; rm -rf "$work"' EXIT
	port=$(fake_port ollama.out "$fake")
	[ -n "$port" ] || { echo "cannot start the fake Ollama:" >&2; cat ollama.err >&2; exit 1; }
	cat >ol.yaml <<YAML
engine: ollama
base_url: http://127.0.0.1:$port
model_id: [m1, m2]
temps: [0.0]
max_concurrent_jobs: 3
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
	expect_exit 0 "two models on the fake Ollama" -- "$LLEVAL" run --config ol.yaml --run-id ol
	python3 - "$port" <<'PY' && ok "Ollama unloads m1 before m2's first request, then m2" ||
import json, sys, urllib.request
log = json.load(urllib.request.urlopen("http://127.0.0.1:%s/__stats" % sys.argv[1]))["model_log"]
kinds = [(e["model"], e["prompt"], e["keep_alive"]) for e in log]
unload = [i for i, e in enumerate(log) if not e["prompt"]]
assert len(unload) == 2, kinds
u1 = unload[0]
assert log[u1]["model"] == "m1" and log[u1]["keep_alive"] == 0 and log[u1]["path"] == "/api/generate"
assert all(e["model"] == "m1" and e["prompt"] for e in log[:u1]) and u1 == 16, kinds[:u1 + 1]
m2 = [i for i, e in enumerate(log) if e["model"] == "m2" and e["prompt"]]
assert len(m2) == 16 and min(m2) > u1 and max(m2) < unload[1], kinds
assert log[unload[1]]["model"] == "m2" and log[unload[1]]["keep_alive"] == 0
PY
		not_ok "Ollama unload order"
	# a second model the server does not have: every model is probed before the first
	# request, so the run stops (exit 3) naming that model and the server's models,
	# with nothing sent
	sed 's/model_id: \[m1, m2\]/model_id: [m1, m3]/' ol.yaml >ol3.yaml
	expect_exit 3 "a second model that is not pulled stops the run" -- \
		"$LLEVAL" run --config ol3.yaml --run-id ol3
	expect_grep "model 2 of 2 ('m3'): model m3 is not pulled" err.txt "the stop names the missing model"
	expect_grep "m1:latest" err.txt "and lists the server's models"
	python3 - <<'PY' && ok "nothing was asked: no answer journaled" ||
import glob
n = lambda pat: sum(len(open(p).readlines()) for p in glob.glob(pat))
assert n("runs/ol3/results/parts/*/*/*/*.jsonl") == 0
PY
		not_ok "journals after a missing second model"
fi

finish
