#!/usr/bin/env bash
# End-to-end test of `lleval score`: the metric fixtures agree with the
# reference SQuAD v1.1 script; predictions for ALL of XQuAD (exact golds,
# extra words, punctuation, articles, case, wrong, empty, Unicode, missing)
# score exactly as the reference script says (every printed decimal), and so
# do NQ-open predictions with the NFD variant; a predictions.csv gives the
# breakdown table and scores.json; bad input exits 2 naming file:line.
source "$LLEVAL_SOURCE_DIR/tests/cli/lib.sh"

ref="$LLEVAL_SOURCE_DIR/bench/reference/squad_v1_eval.py"
fixtures="$LLEVAL_SOURCE_DIR/tests/fixtures/metrics"
shared="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}"

# ---- the data-driven metric cases are the official script's numbers --------
expect_exit 0 "squad.tsv agrees with the reference script" -- \
	python3 "$ref" --check-tsv "$fixtures/squad.tsv"
expect_exit 0 "nq.tsv agrees with the reference script (NFD)" -- \
	python3 "$ref" --nfd --check-tsv "$fixtures/nq.tsv"

# ---- a predictions.csv against the small example datasets ------------------
write_sample_config eval.yaml
printf 'paths:\n  prepared_dir: prep\n' >>eval.yaml
expect_exit 0 "prepare the sample datasets" -- "$LLEVAL" prepare --config eval.yaml
python3 - <<'PY'
import csv, json
hdr = ("custom_id,dataset,item_id,type,prompt_type,temperature,sample,status,finish_reason,"
       "prediction,latency_ms,prompt_tokens,completion_tokens,gen_tps,attempts,error").split(",")
rows = []
for name in ("sample_open", "sample_closed", "sample_mc"):
    for n, line in enumerate(open("prep/%s.jsonl" % name)):
        it = json.loads(line)
        for pt in ("direct", "cot"):
            gold = it["answers"][0]
            pred = gold if n % 3 else "no idea"
            if it["type"] == "multiple_choice":
                pred = "The answer is (%s)." % gold if n % 3 else "hmm"
            if pt == "cot":
                pred = "<think>let me think</think>" + pred
            fin = "length" if n % 4 == 0 else "stop"
            rows.append([f"{name}:{it['id']}:{pt}:t0:s0", name, it["id"], it["type"], pt, "0",
                         "0", "ok", fin, pred, str(100 + n), "10", "5", "20.5", "1", ""])
rows.append(["x:ghost:direct:t0:s0", "sample_open", "ghost", "open_book", "direct", "0", "0",
             "ok", "stop", "boo", "1", "1", "1", "1", "1", ""])
with open("predictions.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\r\n")
    w.writerow(hdr)
    w.writerows(rows)
PY
expect_exit 0 "score a predictions.csv" -- "$LLEVAL" score --pred_csv predictions.csv \
	--prepared_dir prep --out_dir results
cp out.txt table.txt
cp err.txt warnings.txt
expect_grep '^dataset  *prompt  *temp  *n  *EM  *F1  *contains  *acc  *trunc%  *err%  *lat ms  *tok/s' \
	table.txt "the table has the guide's columns"
expect_grep '^sample_open  *direct  *0  ' table.txt "a row per dataset x prompt x temperature"
expect_grep '^sample_open  *all  *all  ' table.txt "an overall row per dataset"
expect_grep '^sample_mc  *cot  *0  .*\[' table.txt "multiple-choice accuracy with its interval"
expect_grep 'unknown: 1 predictions' table.txt "unknown items are counted"
expect_grep 'stopped at max_new_tokens' warnings.txt "a truncation warning above 10%"
expect_grep 'wrote results/scores.json' table.txt "says where scores.json went"
if python3 - <<'PY'; then ok "scores.json matches the rows"; else not_ok "scores.json"; fi
import json
d = json.load(open("results/scores.json"))
assert d["mode"] == "csv" and d["totals"]["unknown"] == 1, d["totals"]
g = [x for x in d["groups"] if x["dataset"] == "sample_open" and x["prompt_type"] == "cot"][0]
assert g["n"] > 0 and g["exact_match"]["ci95"][0] <= g["exact_match"]["value"] <= g["exact_match"]["ci95"][1]
assert g["finish_reason"]["length"] > 0 and g["truncation_pct"] > 10
mc = [x for x in d["groups"] if x["dataset"] == "sample_mc" and not x["overall"]][0]
assert mc["accuracy"]["value"] > 0 and mc["exact_match"] is None and mc["unparseable"] >= 0
PY
expect_exit 0 "--json prints scores.json" -- "$LLEVAL" score predictions.csv --prepared-dir prep \
	--out-dir results --json --bootstrap 0
if python3 -c 'import json,sys; d=json.load(open("out.txt")); assert d["groups"][0]["exact_match"]["ci95"] is None' 2>/dev/null; then
	ok "--bootstrap 0 leaves the intervals out"
else not_ok "--bootstrap 0: $(head -c 300 out.txt)"; fi

printf 'scoring:\n  answer_extraction: after_answer\n  strip_think: false\n  bootstrap_samples: 10\n  bootstrap_seed: 7\npaths:\n  prepared_dir: prep\n' >sc.yaml
expect_exit 0 "--config gives scoring.* and paths.prepared_dir" -- "$LLEVAL" score predictions.csv \
	--config sc.yaml --out-dir r2 --seed 9 --json
if python3 -c '
import json
o = json.load(open("out.txt"))["options"]
assert o == {"answer_extraction": "after_answer", "strip_think": False, "bootstrap_resamples": 10,
             "bootstrap_seed": 9, "ci_level": 0.95, "ci_method": "percentile bootstrap"}, o
'; then ok "config values, flags win"; else not_ok "config options: $(head -c 400 out.txt)"; fi

# ---- bad input ----------------------------------------------------------------
printf 'custom_id,dataset,item_id,prediction\r\na,sample_open,x,"open quote\r\n' >broken.csv
expect_exit 2 "a malformed CSV exits 2" -- "$LLEVAL" score --pred-csv broken.csv --prepared-dir prep
expect_grep 'broken.csv:2' err.txt "the CSV error names file:line"
printf 'custom_id,item_id\r\n' >nocols.csv
expect_exit 2 "a CSV without the needed columns exits 2" -- "$LLEVAL" score --pred-csv nocols.csv --prepared-dir prep
expect_grep "no column 'dataset'" err.txt "the header error names the column"
printf '{"a": "x",\n "b" "y"}\n' >broken.json
expect_exit 2 "malformed JSON exits 2" -- "$LLEVAL" score --pred-json broken.json --dataset sample_open --prepared-dir prep
expect_grep 'broken.json:2:' err.txt "the JSON error names file:line"
# a numeric cell that is no finite number, a cell that is no UTF-8: file:line and the column;
# exit 2 in a user's file, exit 4 inside a run directory (lleval wrote it: a damaged run)
for bad in 12x nan 1e999; do
	python3 -c 'import sys; r = open("predictions.csv", newline="").read().split("\r\n"); f = r[2].split(","); f[10] = sys.argv[1]; r[2] = ",".join(f); open("badnum.csv", "w", newline="").write("\r\n".join(r))' "$bad"
	expect_exit 2 "a latency_ms of '$bad' exits 2" -- "$LLEVAL" score --pred-csv badnum.csv --prepared-dir prep
	expect_grep "badnum.csv:3: column 'latency_ms': '$bad' is not a finite number" err.txt "'$bad': file:line and the column"
done
python3 -c 'r = open("predictions.csv", "rb").read().split(b"\r\n"); r[3] = r[3].replace(b",ok,", b",ok\xff,", 1); open("badutf.csv", "wb").write(b"\r\n".join(r))'
expect_exit 2 "a cell with invalid UTF-8 exits 2" -- "$LLEVAL" score --pred-csv badutf.csv --prepared-dir prep
expect_grep "badutf.csv:4: column 'status': invalid UTF-8 at byte 3" err.txt "invalid UTF-8: file:line, the column and the byte"
mkdir -p runs/r/results && : >runs/r/config.resolved.yaml && echo '{}' >runs/r/manifest.json
cp badnum.csv runs/r/results/predictions.csv
expect_exit 4 "a bad cell in a run's predictions.csv exits 4" -- "$LLEVAL" score --pred-csv runs/r/results/predictions.csv --prepared-dir prep
expect_grep "runs/r/results/predictions.csv:3: column 'latency_ms'" err.txt "the run's file: file:line and the column"
expect_exit 2 "--pred-json without --dataset" -- "$LLEVAL" score --pred-json broken.json
expect_exit 2 "an unknown extraction mode" -- "$LLEVAL" score predictions.csv --answer-extraction last
expect_exit 2 "a dataset that was never prepared" -- "$LLEVAL" score --pred-json broken.json --dataset nope --prepared-dir prep

# ---- ALL of XQuAD against the reference script --------------------------------
xquad="$shared/datasets/xquad/xquad.en.json"
nq="$shared/datasets/nq_open/NQ-open.dev.jsonl"
if [ ! -f "$xquad" ] || [ ! -f "$nq" ]; then
	echo "skip - the shared XQuAD / NQ-open files are absent ($shared/datasets)"
	finish
	exit $?
fi
cat >real.yaml <<YAML
datasets:
  - {name: xquad, format: squad, path: $xquad}
  - {name: nq, format: nq_open, path: $nq}
paths:
  prepared_dir: realprep
YAML
expect_exit 0 "prepare XQuAD and NQ-open" -- "$LLEVAL" prepare --config real.yaml

python3 - "$xquad" "$nq" <<'PY'
import json, random, sys
random.seed(20240909)

def mutate(gold, k):
    return {
        "exact": gold,
        "extra": "I believe it is " + gold + " , of course",
        "punct": "\"" + gold + "\"!?",
        "article": "The " + gold + " an a",
        "case": gold.upper() if k % 2 else gold.lower(),
        "wrong": random.choice(["Paris", "1066", "the Denver Broncos", "blue whale"]),
        "empty": random.choice(["", "   ", "\n"]),
        "unicode": "\u00ab" + gold + "\u00bb \u2013 \u03a3\u039f\u03a6\u039f\u03a3 caf\u00e9\u00a0na\u00efve \u0130",
        "partial": " ".join(gold.split()[: max(1, len(gold.split()) // 2)]),
        "think": "<think>hmm</think>" + gold,
    }

kinds = ["exact", "extra", "punct", "article", "case", "wrong", "empty", "unicode", "partial",
         "think", "missing"]
data = json.load(open(sys.argv[1]))
preds, n = {}, 0
for art in data["data"]:
    for para in art["paragraphs"]:
        for qa in para["qas"]:
            k = kinds[n % len(kinds)]
            n += 1
            if k != "missing":
                gold = random.choice(qa["answers"])["text"]
                preds[qa["id"]] = mutate(gold, n)[k]
preds["no-such-question"] = "x"
json.dump(preds, open("xquad_preds.json", "w"), ensure_ascii=False)

# NQ-open as a SQuAD-shaped file for the reference, ids as `lleval prepare` makes them
qas, npreds = [], {}
for i, line in enumerate(open(sys.argv[2]), 1):
    ex = json.loads(line)
    qid = "nq-%05d" % i
    qas.append({"id": qid, "question": ex["question"], "answers": [{"text": a} for a in ex["answer"]]})
    k = kinds[i % len(kinds)]
    if k != "missing":
        npreds[qid] = mutate(random.choice(ex["answer"]), i)[k]
json.dump({"data": [{"paragraphs": [{"context": "", "qas": qas}]}]}, open("nq_as_squad.json", "w"))
json.dump(npreds, open("nq_preds.json", "w"), ensure_ascii=False)
PY

compare() { # compare NAME REFERENCE_JSON LLEVAL_SCORES_JSON
	if python3 - "$2" "$3" <<'PY'; then ok "$1: lleval equals the reference to every printed decimal"; else not_ok "$1"; fi
import json, sys
ref = json.load(open(sys.argv[1]))
got = json.load(open(sys.argv[2]))
for key in ("exact_match", "f1"):
    want = "%.3f" % ref[key]
    have = "%.3f" % got[key]
    print("  %s: reference %s (%r), lleval %s" % (key, want, ref[key], have))
    assert want == have
PY
}

python3 "$ref" "$xquad" xquad_preds.json >xquad_ref.json 2>/dev/null
expect_exit 0 "score XQuAD predictions (SQuAD JSON)" -- "$LLEVAL" score --pred-json xquad_preds.json \
	--dataset xquad --prepared-dir realprep --out-dir xq
compare "XQuAD (1190 questions)" xquad_ref.json xq/scores.json
expect_grep '^{"exact_match": [0-9.]*, "f1": [0-9.]*}  (1190 questions, 108 without a prediction)' \
	out.txt "prints the official line"
expect_grep "not in 'xquad'" err.txt "warns about the unknown question id"
grep -o '"exact_match": [0-9.]*, "f1": [0-9.]*' out.txt >printed.txt
python3 - <<'PY' && ok "the printed line is the reference's" || not_ok "printed line"
import json
ref = json.load(open("xquad_ref.json"))
line = open("printed.txt").read().strip()
assert line == '"exact_match": %.3f, "f1": %.3f' % (ref["exact_match"], ref["f1"]), line
PY

python3 "$ref" --nfd nq_as_squad.json nq_preds.json >nq_ref.json 2>/dev/null
expect_exit 0 "score NQ-open predictions (NFD)" -- "$LLEVAL" score --pred-json nq_preds.json \
	--dataset nq --prepared-dir realprep --out-dir nqo
compare "NQ-open (3610 questions, NFD)" nq_ref.json nqo/scores.json

finish
