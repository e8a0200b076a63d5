#!/usr/bin/env bash
# End-to-end test of SQuAD 2.0 (issue 11): `lleval prepare` keeps the 112
# unanswerable questions of the Normans file (gold: no answer); `lleval score
# --pred-json` prints, byte for byte, what the official evaluate-v2.0 script
# prints (tests/cli/squad_v2_eval.py, which documents its two departures) for
# predictions that mix right, wrong, abstaining and missing answers; a
# predictions.csv gets the HasAns / NoAns breakdown, with "unanswerable" and
# the empty answer as abstentions; the built-in open-book prompt tells the
# model how to abstain on this dataset only.
source "$LLEVAL_SOURCE_DIR/tests/cli/lib.sh"

shared="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}"
v2="$shared/datasets/squad_v2/dev-v2.0-normans.json"
ref="$LLEVAL_SOURCE_DIR/tests/cli/squad_v2_eval.py"
if [ ! -f "$v2" ]; then
	echo "skip - the shared SQuAD 2.0 file is absent ($v2)"
	finish
	exit $?
fi

cat >v2.yaml <<YAML
engine: dry
model_id: dry-model
temps: [0.0]
datasets:
  - {name: sq2, format: squad, path: $v2}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
paths:
  prepared_dir: prep
YAML
expect_exit 0 "prepare the SQuAD 2.0 file" -- "$LLEVAL" prepare --config v2.yaml
python3 - <<'PY' && ok "208 items, 112 unanswerable with no gold answer" || not_ok "prepared items"
import json
items = [json.loads(l) for l in open("prep/sq2.jsonl")]
assert len(items) == 208, len(items)
no = [i for i in items if i["unanswerable"] is True]
assert len(no) == 112 and all(i["answers"] == [] for i in no)
assert all(i["unanswerable"] is False and i["answers"] for i in items if i not in no)
info = json.load(open("prep/sq2.info.json"))
assert info["items"] == 208 and info["skipped"] == {}, info
# a SQuAD v1.1 file gets no such field
assert all("unanswerable" not in json.loads(l) for l in open("prep/sample_open.jsonl"))
PY

# ---- --pred-json: the official script's output, byte for byte ----------------
python3 - "$v2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
preds, n = {}, 0
for art in data["data"]:
    for para in art["paragraphs"]:
        for qa in para["qas"]:
            n += 1
            k = n % 9
            if k == 0:
                continue  # missing
            gold = qa["answers"][0]["text"] if qa["answers"] else qa["plausible_answers"][0]["text"]
            preds[qa["id"]] = ["", gold, "The " + gold + "!", "wrong answer", "  ",
                               "unanswerable", gold.split()[0], "Unanswerable.",
                               "I think " + gold][k]
json.dump(preds, open("preds.json", "w"), ensure_ascii=False)
json.dump({k: v for k, v in preds.items()}, open("full.json", "w"))
PY
python3 "$ref" "$v2" preds.json >ref.txt
expect_exit 0 "score --pred-json on the v2 dataset" -- "$LLEVAL" score --pred-json preds.json \
	--dataset sq2 --prepared-dir prep --out-dir o
cp out.txt got.txt
python3 - <<'PY' && ok "prints what evaluate-v2.0 prints, byte for byte" || not_ok "official output"
lines = open("got.txt").read().split("\n")
start = next(i for i, l in enumerate(lines) if l.startswith("Missing prediction for ") or l == "{")
end = lines.index("}", start)
got = "\n".join(lines[start:end + 1]) + "\n"
want = open("ref.txt").read()
if got != want:
    print(got)
    print(want)
assert got == want
assert "Missing prediction for" in want and '"NoAns_total": ' in want and '"HasAns_f1": ' in want
PY
expect_grep "23 without a prediction" got.txt "counts the questions without a prediction"
expect_grep "left out of every total" err.txt "warns that missing questions are left out"
python3 - <<'PY' && ok "scores.json has the official overall numbers" || not_ok "scores.json"
import json
s = json.load(open("o/scores.json"))
ref = {}
for l in open("ref.txt"):
    l = l.strip().rstrip(",")
    if l.startswith('"exact"') or l.startswith('"f1"') or l.startswith('"total"'):
        k, v = l.split(": ")
        ref[k.strip('"')] = float(v)
assert round(ref["exact"], 3) == s["exact_match"] and round(ref["f1"], 3) == s["f1"], (ref, s)
assert s["total"] == ref["total"]
PY

# every question answered: the script runs as it is (no departure needed)
python3 - "$v2" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
preds = {}
for art in data["data"]:
    for para in art["paragraphs"]:
        for i, qa in enumerate(para["qas"]):
            preds[qa["id"]] = "" if i % 3 == 0 else (qa["answers"] or qa["plausible_answers"])[0]["text"]
json.dump(preds, open("all.json", "w"))
PY
python3 "$ref" "$v2" all.json >ref_all.txt
expect_exit 0 "score a complete predictions file" -- "$LLEVAL" score --pred-json all.json \
	--dataset sq2 --prepared-dir prep --out-dir o2
python3 - <<'PY' && ok "complete predictions: byte for byte, 208 questions" || not_ok "complete predictions"
lines = open("out.txt").read().split("\n")
start = lines.index("{")
got = "\n".join(lines[start:lines.index("}", start) + 1]) + "\n"
assert got == open("ref_all.txt").read(), (got, open("ref_all.txt").read())
assert '"total": 208' in got and '"NoAns_total": 112' in got
PY
echo '{"nope": "x"}' >none.json
expect_exit 2 "no prediction for any question is an error" -- "$LLEVAL" score --pred-json none.json \
	--dataset sq2 --prepared-dir prep --out-dir o3
expect_grep "no prediction answers a question of 'sq2'" err.txt "says why"

# ---- the pipeline: the abstaining prompt, predictions.csv, the breakdown -------
expect_exit 0 "build the batches (dry run)" -- "$LLEVAL" run --config v2.yaml --run-id r --dry-run
python3 - <<'PY' && ok "the v2 open-book prompt says how to abstain; the v1.1 one does not" || not_ok "prompt"
import glob, json
seen = {"v2": 0, "other": 0}
for path in glob.glob("runs/r/batches/**/*.jsonl", recursive=True):
    for line in open(path):
        req = json.loads(line)
        text = " ".join(m["content"] for m in req["body"]["messages"])
        if req["custom_id"].startswith("sq2:"):
            assert "unanswerable" in text, text
            seen["v2"] += 1
        else:
            assert "unanswerable" not in text, text
            seen["other"] += 1
assert seen["v2"] > 0 and seen["other"] > 0, seen
PY
python3 - "$ref" <<'PY'
import csv, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("ev", sys.argv[1])
ev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ev)
hdr = ("custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"
       "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error").split(",")
items = [json.loads(l) for l in open("prep/sq2.jsonl")]
kinds = ["", "unanswerable", "Unanswerable.", "wrong", "GOLD", "the GOLD", "I cannot tell"]
sums = {True: [0, 0.0, 0], False: [0, 0.0, 0]}
abstained = 0
with open("predictions.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(hdr)
    for n, it in enumerate(items):
        gold = it["answers"][0] if it["answers"] else "Normandy"
        pred = kinds[n % len(kinds)].replace("GOLD", gold)
        w.writerow(["sq2:%s:direct:t0:s0" % it["id"], "sq2", it["id"], "open_book", "direct", "0",
                    "0", "ok", "stop", pred, "10", "", "", "", "1", ""])
        # lleval's pipeline: an empty answer or a configured phrase abstains
        if ev.normalize_answer(pred) in ("", "unanswerable"):
            pred, abstained = "", abstained + 1
        golds = [a for a in it["answers"] if ev.normalize_answer(a)] or [""]
        s = sums[it["unanswerable"]]
        s[0] += max(ev.compute_exact(a, pred) for a in golds)
        s[1] += max(ev.compute_f1(a, pred) for a in golds)
        s[2] += 1
h, u = sums[False], sums[True]
open("want_line.txt", "w").write(
    "SQuAD 2.0 sq2/direct/t0: HasAns EM %.1f F1 %.1f (%d), NoAns EM %.1f (%d); %d answers abstained\n"
    % (100.0 * h[0] / h[2], 100.0 * h[1] / h[2], h[2], 100.0 * u[0] / u[2], u[2], abstained))
PY
expect_exit 0 "score a predictions.csv of the v2 dataset" -- "$LLEVAL" score predictions.csv \
	--prepared-dir prep --bootstrap 0
if grep -qxF -- "$(cat want_line.txt)" out.txt; then ok "HasAns / NoAns breakdown with abstentions"; else
	not_ok "breakdown: wanted $(cat want_line.txt)"
	sed 's/^/    /' out.txt
fi
printf 'scoring:\n  abstain_phrases: ["I cannot tell"]\n' >abst.yaml
expect_exit 0 "abstain_phrases from the config" -- "$LLEVAL" score predictions.csv \
	--prepared-dir prep --bootstrap 0 --config abst.yaml
python3 - <<'PY' && ok "a configured phrase replaces the default one" || not_ok "abstain_phrases"
import re
line = [l for l in open("out.txt") if l.startswith("SQuAD 2.0 sq2")][0]
# 208 rows, kinds cycle by 7: "" (30), "I cannot tell" (29) abstain; "unanswerable" no longer does
assert line.rstrip().endswith("; 59 answers abstained"), line
PY

finish
