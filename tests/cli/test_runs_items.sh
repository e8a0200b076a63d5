#!/usr/bin/env bash
# Every item, scored, end to end on the dry engine: the score step writes
# results/items.csv and items.jsonl (one row per scored answer), `lleval runs
# items` filters, sorts and shows them, hostile model and dataset text stays
# escaped in the CSV, the JSONL and the terminal, and an older run without the
# file is told how to get it.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml

expect_exit 0 "dry run --limit_items 10" -- "$LLEVAL" run --config eval.yaml --dry_run --limit_items 10 --run-id r1 -q
res=runs/r1/results
[ -f $res/items.csv ] && [ -f $res/items.jsonl ] && ok "score step wrote items.csv and items.jsonl" ||
	not_ok "items files missing: $(ls $res)"
ls $res | grep -q '\.tmp\.' && not_ok "temp files left in results/" || ok "no temp files left"

# one row per scored answer, in both files, agreeing with predictions.csv and scores.json
python3 - "$res" <<'PY' && ok "rows = answered items; CSV and JSONL agree with predictions.csv and scores.json" || not_ok "items rows disagree"
import csv, json, sys
res = sys.argv[1]
preds = list(csv.DictReader(open(res + "/predictions.csv", newline="")))
rows = [json.loads(l) for l in open(res + "/items.jsonl")]
crows = list(csv.DictReader(open(res + "/items.csv", newline="")))
scores = json.load(open(res + "/scores.json"))
n = sum(g["n"] for g in scores["groups"] if g.get("prompt_type"))
assert len(rows) == len(preds) == len(crows) == n == 30, (len(rows), len(preds), len(crows), n)
assert [r["custom_id"] for r in rows] == [p["custom_id"] for p in preds]
assert [r["custom_id"] for r in crows] == [p["custom_id"] for p in preds]
for r, p, c in zip(rows, preds, crows):
    assert r["prediction"] == p["prediction"] and r["finish_reason"] == p["finish_reason"]
    assert c["correct"] == ("1" if r["correct"] else "0")
    if r["type"] == "multiple_choice":
        assert r["em"] is None and r["f1"] is None and r["contains"] is None, r
        assert isinstance(r["mc_letter"], str) and len(r["choices"]) >= 2, r
        assert c["em"] == c["f1"] == "", c
    else:
        assert r["mc_letter"] is None and r["choices"] is None, r
        assert r["em"] in (0, 1) and 0 <= r["f1"] <= 1 and r["correct"] == (r["em"] == 1), r
        assert c["mc_letter"] == "", c
    assert r["question"] and r["gold_answers"], r
# the metrics agree with scores.json per group
for g in scores["groups"]:
    if not g.get("prompt_type"):
        continue
    sel = [r for r in rows if r["dataset"] == g["dataset"]]
    if g["type"] == "multiple_choice":
        acc = 100.0 * sum(r["correct"] for r in sel) / len(sel)
        assert abs(acc - g["accuracy"]["value"]) < 1e-6, (acc, g["accuracy"])
    else:
        em = 100.0 * sum(r["em"] for r in sel) / len(sel)
        assert abs(em - g["exact_match"]["value"]) < 1e-6, (em, g["exact_match"])
PY

# the filters' counts, against the file
count() { python3 -c "
import json, sys
rows = [json.loads(l) for l in open('$res/items.jsonl')]
print(sum(1 for r in rows if $1))"; }
check_count() { # DESCRIPTION WANT -- args...
	local what=$1 want=$2
	shift 3
	local got
	got=$("$LLEVAL" runs items r1 --json "$@" | wc -l)
	[ "$got" -eq "$want" ] && ok "$what: $got items" || not_ok "$what: $got items, wanted $want"
	# the table says the same count
	"$LLEVAL" runs items r1 "$@" >table.txt
	grep -q "^$want items\?$\|^no items match$" table.txt && ok "$what: table count" ||
		not_ok "$what: table count: $(tail -2 table.txt)"
}
check_count "all" "$(count True)" --
check_count "--wrong" "$(count 'not r["correct"]')" -- --wrong
check_count "--right" "$(count 'r["correct"]')" -- --right
check_count "--dataset sample_mc" "$(count 'r["dataset"] == "sample_mc"')" -- --dataset sample_mc
check_count "--finish length" "$(count 'r["finish_reason"] == "length"')" -- --finish length
check_count "--wrong --finish length" "$(count 'not r["correct"] and r["finish_reason"] == "length"')" -- --wrong --finish length
check_count "--grep (any case)" "$(count '"prime" in r["question"].lower()')" -- --grep PRIME
[ "$(count 'not r["correct"]')" -gt 0 ] && [ "$(count 'r["correct"]')" -gt 0 ] &&
	[ "$(count 'r["finish_reason"] == "length"')" -gt 0 ] && ok "the dry run has right, wrong and truncated answers" ||
	not_ok "the dry run's answers do not exercise the filters"

# --json: JSON lines that parse, --limit, --sort latency (slowest first)
"$LLEVAL" runs items r1 --json --sort latency --limit 5 >j.txt
python3 - <<'PY' && ok "--json --sort latency --limit 5: 5 JSON lines, slowest first" || not_ok "--json --sort latency"
import json
rows = [json.loads(l) for l in open("j.txt")]
assert len(rows) == 5, len(rows)
lat = [r["latency_ms"] for r in rows]
assert lat == sorted(lat, reverse=True), lat
allrows = [json.loads(l) for l in open("runs/r1/results/items.jsonl")]
assert lat[0] == max(r["latency_ms"] for r in allrows)
PY
"$LLEVAL" runs items r1 --limit 3 >t.txt
expect_grep "^3 of 30 matching items shown (--limit)$" t.txt "--limit 3 says how many matched"
[ "$(grep -c '^right\|^wrong\|^error' t.txt)" -eq 3 ] && ok "--limit 3: 3 rows" || not_ok "--limit 3 rows: $(cat t.txt)"
"$LLEVAL" runs items r1 --dataset sample_mc --full --limit 1 >full.txt
expect_grep "^  choices    A\. " full.txt "--full lists the choices"
expect_grep "^  scores     MC .*(EM, F1, contains: n/a)" full.txt "--full: n/a for EM/F1 on multiple choice"
"$LLEVAL" runs items r1 --dataset sample_closed --limit 1 >qa.txt
expect_grep " n/a " qa.txt "MC letter n/a on an open question"

# usage errors
expect_exit 2 "--wrong --right" -- "$LLEVAL" runs items r1 --wrong --right
expect_exit 2 "--sort nonsense" -- "$LLEVAL" runs items r1 --sort nonsense
expect_exit 2 "an unknown run" -- "$LLEVAL" runs items nope
expect_exit 2 "no run id" -- "$LLEVAL" runs items
expect_exit 0 "runs items --help" -- "$LLEVAL" runs items --help

# an older run without the file: exit 4 with what to do; resume writes it again
mv runs/r1/results/items.jsonl items.jsonl.bak
expect_exit 4 "a run without items.jsonl" -- "$LLEVAL" runs items r1
expect_grep "lleval runs resume r1" err.txt "the error says how to get the file"
expect_exit 0 "runs resume r1" -- "$LLEVAL" runs resume r1 -q
cmp -s items.jsonl.bak runs/r1/results/items.jsonl && ok "resume wrote the same items.jsonl again" ||
	not_ok "resume did not write the same items.jsonl"
# a damaged file: exit 4 with file:line
printf '{"custom_id": "x", "correct": "yes"}\n' >runs/r1/results/items.jsonl
expect_exit 4 "a damaged items.jsonl" -- "$LLEVAL" runs items r1
expect_grep "items.jsonl:1: 'correct' must be true or false; .*lleval runs resume r1" err.txt "the error names file:line and what to do"

# `lleval score` writes them beside scores.json
expect_exit 0 "lleval score --out-dir" -- "$LLEVAL" score runs/r1/results/predictions.csv --config eval.yaml --out-dir byhand
cmp -s byhand/items.csv runs/r1/results/items.csv && ok "lleval score wrote the same items.csv" ||
	not_ok "lleval score's items.csv differs from the run's"

# hostile text: controls, escapes, quotes, commas, newlines, formulas, bidi, tabs
python3 - <<'PY'
import json
items = [
    ("Say \"hi\",\nthen \x1b[31mred\x1b[0m?", ["=1+1"]),
    ("Comma, quote \" and newline?", ["a, \"b\"\nc"]),
    ("Title?", ["\x1b]0;pwned\x07title"]),
    ("Formula at?", ["@SUM(A1)"]),
    ("Minus?", ["-2+3"]),
    ("Bidi?", ["\u202eevil"]),
    ("Tab?", ["\tx"]),
    ("Plus?", ["+cmd|' /C calc'!A0"]),
    ("Quote?", ["'quoted"]),
    ("CR?", ["a\rb"]),
    ("Bell?", ["ring\x07ring"]),
    ("Wide?", ["日本語のテキスト"]),
]
with open("hostile.jsonl", "w") as f:
    for q, a in items:
        f.write(json.dumps({"question": q, "answer": a}) + "\n")
PY
cat >hostile.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0]
datasets:
  - {name: hostile, format: nq_open, path: hostile.jsonl}
YAML
expect_exit 0 "dry run on hostile text" -- "$LLEVAL" run --config hostile.yaml --dry_run --run-id h -q
python3 - runs/h/results <<'PY' && ok "hostile text: CSV (RFC 4180, spreadsheet guard) and JSONL round-trip" || not_ok "hostile text in the files"
import csv, json, sys
res = sys.argv[1]
rows = [json.loads(l) for l in open(res + "/items.jsonl", encoding="utf-8")]
raw = open(res + "/items.csv", newline="", encoding="utf-8").read()
crows = list(csv.DictReader(raw.splitlines(keepends=True)))
assert len(rows) == len(crows) == 12
assert raw.count("\r\n") >= 13  # CRLF records
text = ["custom_id", "question", "gold_answers", "prediction", "answer", "finish_reason", "error"]
formula = 0
for r, c in zip(rows, crows):
    for k in text:
        v = c[k]
        if v[:1] == "'":  # the guard: exactly one quote before a formula-like or quoted text
            v = v[1:]
            assert v[:1] in ("=", "+", "-", "@", "\t", "\r", "'"), (k, c[k])
            formula += 1
        else:
            assert v[:1] not in ("=", "+", "-", "@", "\t", "\r"), (k, c[k])
        if k == "gold_answers":  # a JSON array of the gold answers
            v = json.loads(v)
        assert v == r[k], (k, v, r[k])
hostile_preds = [r["prediction"] for r in rows if any(ch in r["prediction"] for ch in "\x07+\t")]
assert hostile_preds, "the dry engine echoed no hostile answer"
assert formula >= 2, formula  # the "+cmd|..." answer: raw and extracted
assert any(r["prediction"].startswith("+") for r in rows)
assert any("\x1b" in r["question"] for r in rows)
PY
COLUMNS=100 "$LLEVAL" runs items h >h.txt
if grep -q $'\x1b\|\x07\|\r' h.txt; then not_ok "terminal: a control character reached the terminal"; else ok "terminal: no control character reaches the terminal"; fi
[ "$(wc -l <h.txt)" -eq 15 ] && ok "terminal: one line per item (header, 12 rows, 2 summary lines)" ||
	not_ok "terminal: $(wc -l <h.txt) lines: $(cat -A h.txt | head -20)"
python3 - h.txt <<'PY' && ok "terminal: every line fits COLUMNS=100 (display width)" || not_ok "terminal: a line is wider than COLUMNS"
import sys, unicodedata
for line in open(sys.argv[1], encoding="utf-8"):
    w = sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
            for c in line.rstrip("\n"))
    assert w <= 100, (w, line)
PY
expect_grep '\\u202eevil' h.txt "terminal: a bidi override shows as text"
expect_grep '\\tx' h.txt "terminal: a tab shows as \\t"
"$LLEVAL" runs items h --full >hf.txt
expect_grep '\\x1b\[31mred' hf.txt "--full: an escape sequence shows as text"
if grep -q $'\x1b\|\x07\|\r' hf.txt; then not_ok "--full: a control character reached the terminal"; else ok "--full: no control character reaches the terminal"; fi
expect_grep '^             c$' hf.txt "--full: a newline in a gold answer continues on an indented line"
"$LLEVAL" runs items h --json | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert len(rows) == 12 and any('\x1b' in r['question'] for r in rows)" && ok "--json: hostile text escaped as JSON and parses" || not_ok "--json with hostile text"

# NO_COLOR (set by the suite) and a pipe: no escape codes at all
if grep -q $'\033' t.txt full.txt; then not_ok "escape codes with NO_COLOR"; else ok "NO_COLOR: no escape codes"; fi
if command -v script >/dev/null; then
	env -u NO_COLOR TERM=xterm COLUMNS=120 script -qec "$LLEVAL runs items h --limit 2" color.log >/dev/null 2>&1 || true
	grep -q $'\033\[3[12]m' color.log && ok "terminal without NO_COLOR: colored verdicts" || not_ok "no colored verdicts on a terminal"
fi
finish
