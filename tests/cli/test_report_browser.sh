#!/usr/bin/env bash
# The report's item explorer and the comparison page (`lleval report A B`) in a
# real browser: headless Chromium driven by chromedriver (report_browser.py,
# W3C WebDriver with Python's standard library). Two dry runs where some
# questions, gold answers and answers are hostile HTML; the test clicks the
# filters, checks the counts the page shows against numbers worked out here
# from the run's own files, and that no hostile text ever runs. Static checks
# of the pages come first and need no browser; the browser part is skipped
# (exit 77) only when chromium or chromedriver is missing (scripts/install-deps.sh
# installs both). LLEVAL_SCREENSHOTS_DIR=DIR saves the screenshots of docs/report.md.
. "$(dirname "$0")/lib.sh"

# hostile questions and gold answers, each question with the word "pwned"
cat >hostile.jsonl <<'EOF'
{"question": "pwned 1: which tag is <img src=x onerror=\"document.title='pwned'\">?", "answer": ["</script><script>window.pwned=1</script>"]}
{"question": "pwned 2: what is 2+2? <script>window.pwned=1</script>", "answer": ["4"]}
{"question": "pwned 3: a line\u2028separator and <!-- a comment", "answer": ["<b onmouseover=\"window.pwned=1\">x</b>"]}
EOF
cat >eval.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0, 0.7]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
  - {name: hostile, format: nq_open, path: hostile.jsonl}
YAML
sed 's/^model_id: dry-model$/model_id: dry-model-two/' eval.yaml >eval2.yaml

# the answers of the hostile items become hostile too: predictions.csv is
# edited after the run, then scored again and the report written again
hostile_answer='<img src=x onerror="document.title='"'"'pwned'"'"';window.pwned=1"> and </script><script>window.pwned=1</script><!--'
for run in r:eval.yaml r2:eval2.yaml; do
	expect_exit 0 "dry run ${run%%:*}" -- "$LLEVAL" run --config "${run#*:}" --run-id "${run%%:*}"
	HOSTILE="$hostile_answer" python3 - "runs/${run%%:*}/results/predictions.csv" <<'EOF'
import csv, os, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline="")))
h = rows[0]
for r in rows[1:]:
    if r[h.index("dataset")] == "hostile" and r[h.index("item_id")].endswith("1"):
        r[h.index("prediction")] = os.environ["HOSTILE"]
        r[h.index("status")] = "ok"
with open(path, "w", newline="") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
EOF
	expect_exit 0 "score ${run%%:*} again" -- "$LLEVAL" score --config "runs/${run%%:*}/config.resolved.yaml" \
		--pred-csv "runs/${run%%:*}/results/predictions.csv"
	expect_exit 0 "report ${run%%:*} again" -- "$LLEVAL" report "${run%%:*}"
done
[ -s runs/r/report.html ] && ok "report.html written" || not_ok "no runs/r/report.html"

# static checks: the data is inline JSON that cannot end its element
html=runs/r/report.html
expect_grep 'id="explorer"' $html "the report has the item explorer"
expect_grep '<script type="application/json" id="x-data">' $html "the items are inline JSON"
expect_grep "Content-Security-Policy\" content=\"default-src 'none'" $html "the page allows no network access"
n_script=$(grep -o '<script' $html | wc -l)
[ "$n_script" -eq 2 ] && ok "two script elements: the data and the explorer" ||
	not_ok "$n_script script elements, wanted 2"
if grep -q '<img src=x\|window.pwned=1</script>\|<b onmouseover' $html; then
	not_ok "hostile markup appears unescaped in report.html"
	grep -o '.\{40\}<img src=x.\{40\}\|.\{40\}window.pwned=1</script>.\{40\}' $html | head -5
else
	ok "no hostile markup unescaped in report.html"
fi
if grep -qi '<script[^>]*src=\|<link\|<img\|<iframe\|https\?://' $html; then
	not_ok "report.html has external references"
else
	ok "report.html is self-contained"
fi
# the JSON text reads back to every row of predictions.csv, hostile text intact
python3 - "$html" "$hostile_answer" >check.txt <<'EOF' || true
import csv, json, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="x-data">(.*?)</script>', page, re.S)
data = json.loads(m.group(1))
rows = list(csv.DictReader(open("runs/r/results/predictions.csv", newline="")))
ok = len(data["rows"]) == len(rows) and [r[0] for r in data["rows"]] == [r["custom_id"] for r in rows]
ok = ok and any(r[9] == sys.argv[2] for r in data["rows"])
ok = ok and "\u2028" not in m.group(1) and "<" not in m.group(1)
print("same" if ok else "differ")
EOF
[ "$(cat check.txt)" = same ] && ok "the inline JSON holds every row, hostile text intact" ||
	not_ok "the inline JSON differs from predictions.csv: $(cat check.txt)"

# the comparison page
expect_exit 0 "lleval report r r2" -- "$LLEVAL" report r r2
expect_grep "^runs/r2/compare-r.html$" out.txt "prints the comparison page's path"
cmp=runs/r2/compare-r.html
expect_exit 0 "runs compare --json" -- "$LLEVAL" runs compare r r2 --json
cp out.txt compare.json
read -r a_right b_right < <(python3 -c '
import json; f = json.load(open("compare.json"))["flips"]
print(sum(x["better"] == "a" for x in f), sum(x["better"] == "b" for x in f))')
[ "$((a_right + b_right))" -gt 0 ] && ok "the two dry models disagree on some items" ||
	not_ok "no flips between the two dry runs"
expect_grep "<h2>Right in A, wrong in B <span class=\"muted\">($a_right)</span>" $cmp "the page counts the flips right in A"
expect_grep "<h2>Right in B, wrong in A <span class=\"muted\">($b_right)</span>" $cmp "the page counts the flips right in B"
if grep -q '<img src=x\|<script\|<b onmouseover' $cmp; then
	not_ok "the comparison page has a script or unescaped hostile markup"
else
	ok "the comparison page has no script and escapes the answers"
fi
expect_exit 0 "report A B --out" -- "$LLEVAL" report r r2 --out elsewhere.html
[ -s elsewhere.html ] && ok "--out names the comparison page" || not_ok "no elsewhere.html"
expect_exit 2 "--out with one run" -- "$LLEVAL" report r --out x.html
expect_exit 2 "compare with an unknown run" -- "$LLEVAL" report r nope
expect_grep "no run 'nope'" err.txt "names the unknown run"
expect_exit 2 "compare with a bad run id" -- "$LLEVAL" report ../etc r
expect_exit 2 "three run ids" -- "$LLEVAL" report r r2 r

# the browser
chromium=$(command -v chromium || command -v chromium-browser || true)
chromedriver=$(command -v chromedriver || true)
if [ -z "$chromium" ] || [ -z "$chromedriver" ]; then
	finish
	echo "SKIP: the browser checks need chromium and chromedriver (Debian: chromium," \
		"chromium-driver; scripts/install-deps.sh installs them)"
	exit 77
fi

python3 - >expect.json <<'EOF'
import csv, json
rows = list(csv.DictReader(open("runs/r/results/predictions.csv", newline="")))
scores = json.load(open("runs/r/results/scores.json"))
groups = [g for g in scores["groups"] if not g["overall"]]
ds = {}
for r in rows:
    ds[r["dataset"]] = ds.get(r["dataset"], 0) + 1
closed = [g for g in groups if g["dataset"] == "sample_closed"]
right = sum(round(g["exact_match"]["value"] * g["n"] / 100) for g in closed)
n = sum(g["n"] for g in closed)
errors = sum(g["finish_reason"]["error"] for g in closed)
hostile = [r for r in rows if r["dataset"] == "hostile"]
item = [r for r in hostile if r["item_id"].endswith("1")][0]
print(json.dumps({
    "title": "lleval report: r",
    "total": len(rows),
    "datasets": ds,
    "verdict_dataset": "sample_closed",
    "right_in_dataset": right,
    "wrong_in_dataset": n - right - errors,
    "length": sum(g["finish_reason"]["length"] for g in groups),
    "hostile": len(hostile),
    "hostile_item": item["custom_id"],
    "hostile_answer": item["prediction"],
    "hostile_golds": ["</script><script>window.pwned=1</script>"],
    "hostile_question": "pwned 1: which tag is <img src=x onerror=\"document.title='pwned'\">?",
}))
EOF
shots=()
if [ -n "${LLEVAL_SCREENSHOTS_DIR:-}" ]; then shots=(--shots "$LLEVAL_SCREENSHOTS_DIR"); fi
if python3 "$LLEVAL_SOURCE_DIR/tests/cli/report_browser.py" explorer "$html" expect.json "${shots[@]}" >browser.txt 2>&1; then
	ok "the explorer in headless Chromium"
else
	not_ok "the explorer in headless Chromium"
fi
sed 's/^/    /' browser.txt
printf '{"title": "lleval comparison: r vs r2", "a_right": %d, "b_right": %d}\n' "$a_right" "$b_right" >expect2.json
if python3 "$LLEVAL_SOURCE_DIR/tests/cli/report_browser.py" compare "$cmp" expect2.json "${shots[@]}" >browser.txt 2>&1; then
	ok "the comparison page in headless Chromium"
else
	not_ok "the comparison page in headless Chromium"
fi
sed 's/^/    /' browser.txt

# a run of several models: the leaderboard and the explorer's model filter
cat >mm.yaml <<'YAML'
engine: dry
model_id: [dry-a, dry-b, dry-c]
temps: [0.0]
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
expect_exit 0 "dry run of three models" -- "$LLEVAL" run --config mm.yaml --run-id mm -q
python3 - >expect3.json <<'EOF'
import json
lb = json.load(open("runs/mm/results/scores.json"))["leaderboard"]
ranked = sorted(lb["models"], key=lambda m: -m["correct"]["value"])  # stable: ties keep order
items = [json.loads(l) for l in open("runs/mm/results/items.jsonl")]
model = lambda r: r["custom_id"].split(":")[0]
per = {}
for r in items:
    per[model(r)] = per.get(model(r), 0) + 1
wrong = sum(1 for r in items if model(r) == "dry-b" and r["status"] == "ok" and r["correct"] is False)
print(json.dumps({
    "title": "lleval report: mm",
    "ranked": [m["model"] for m in ranked],
    "cis": ["[%.1f, %.1f]" % tuple(m["correct"]["ci95"]) for m in ranked],
    "pairs": len(lb["pairs"]),
    "per_model": per,
    "wrong_model": "dry-b",
    "wrong_of_model": wrong,
}))
EOF
if python3 "$LLEVAL_SOURCE_DIR/tests/cli/report_browser.py" models runs/mm/report.html expect3.json "${shots[@]}" >browser.txt 2>&1; then
	ok "the leaderboard and the model filter in headless Chromium"
else
	not_ok "the leaderboard and the model filter in headless Chromium"
fi
sed 's/^/    /' browser.txt

finish
