#!/usr/bin/env bash
# End-to-end test of `lleval prepare`: the real shared datasets (NQ-open,
# XQuAD, MMLU; skipped with a message when absent), --dataset / --limit-items /
# --json, a generic CSV with a field mapping, and broken inputs (exit 2, the
# message names file:line, the previous prepared files stay untouched).
set -euo pipefail
: "${LLEVAL:?set LLEVAL to the lleval binary}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# expect_status WANT CMD...: runs CMD, keeps stdout/stderr in out.txt/err.txt.
expect_status() {
    local want=$1
    shift
    local got=0
    "$@" >out.txt 2>err.txt || got=$?
    if [ "$got" != "$want" ]; then
        echo "--- stdout" >&2
        cat out.txt >&2
        echo "--- stderr" >&2
        cat err.txt >&2
        fail "'$*' exited $got, expected $want"
    fi
}

lines() { wc -l <"$1" | tr -d ' '; }

info_field() { # info_field FILE KEY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# ---- generic CSV with a field mapping (needs no shared data) --------------
mkdir raw
printf 'key,passage,ask,gold\r\nk1,"Line one,\r\nline two","What is ""two""?",line two\r\n,Tea,Drink?,"[""tea"", ""chai""]"\r\n' >raw/g.csv
cat >generic.yaml <<'YAML'
datasets:
  - name: gen
    format: csv
    type: open_book
    path: raw/g.csv
    fields: {id: key, context: passage, question: ask, answers: gold}
paths:
  prepared_dir: prep
YAML
expect_status 0 "$LLEVAL" prepare --config generic.yaml
grep -q '^dataset  *format  *type  *items  *skipped  *output' out.txt || fail "no table header: $(cat out.txt)"
grep -q '^gen  *csv  *open_book  *2  *0  *prep/gen.jsonl' out.txt || fail "bad row: $(cat out.txt)"
grep -q '^prepared 2 items from 1 dataset into prep' out.txt || fail "bad total: $(cat out.txt)"
[ "$(lines prep/gen.jsonl)" = 2 ] || fail "gen.jsonl has $(lines prep/gen.jsonl) lines"
python3 - <<'PY'
import json
items = [json.loads(l) for l in open("prep/gen.jsonl")]
assert items[0]["id"] == "k1", items[0]
assert items[0]["context"] == "Line one,\r\nline two", items[0]
assert items[0]["question"] == 'What is "two"?', items[0]
assert items[0]["answers"] == ["line two"], items[0]
assert items[1]["id"] == "gen-2", items[1]
assert items[1]["answers"] == ["tea", "chai"], items[1]
assert items[1]["meta"]["line"] == 4, items[1]
info = json.load(open("prep/gen.info.json"))
assert info["items"] == 2 and info["type"] == "open_book" and info["scoring"] == "squad", info
PY

# ---- broken input: exit 2, file:line in the message, old files kept -------
printf '{"question": "q1", "answer": ["a"]}\n{"question": "q2", "answer": ["b"]}\n' >raw/nq.jsonl
cat >broken.yaml <<'YAML'
datasets:
  - {name: small_nq, format: nq_open, path: raw/nq.jsonl}
paths: {prepared_dir: prep}
YAML
expect_status 0 "$LLEVAL" prepare --config broken.yaml
cp prep/small_nq.jsonl before.jsonl
cp prep/small_nq.info.json before.info.json
printf '{"question": "q1", "answer": ["a"]}\n{"question": "q2", "answer": ["b"]}\n{"question": "q3", "answer": ["c"]\n' >raw/nq.jsonl
expect_status 2 "$LLEVAL" prepare --config broken.yaml
grep -q 'raw/nq.jsonl:3:' err.txt || fail "error does not name raw/nq.jsonl:3: $(cat err.txt)"
cmp -s before.jsonl prep/small_nq.jsonl || fail "a failed prepare changed small_nq.jsonl"
cmp -s before.info.json prep/small_nq.info.json || fail "a failed prepare changed small_nq.info.json"
ls prep | grep -q tmp && fail "temporary files left behind: $(ls prep)"

# duplicate ids in a generic JSONL name both lines
printf '{"id": "x", "question": "q", "answers": "a"}\n{"id": "x", "question": "q2", "answers": "b"}\n' >raw/dup.jsonl
cat >dup.yaml <<'YAML'
datasets:
  - {name: dup, format: jsonl, type: closed_book, path: raw/dup.jsonl}
paths: {prepared_dir: prep}
YAML
expect_status 2 "$LLEVAL" prepare --config dup.yaml
grep -q "raw/dup.jsonl:2: duplicate id 'x' (first used at raw/dup.jsonl:1)" err.txt || fail "duplicate: $(cat err.txt)"

# a generic dataset without a type
cat >notype.yaml <<'YAML'
datasets:
  - {name: notype, format: jsonl, path: raw/dup.jsonl}
paths: {prepared_dir: prep}
YAML
expect_status 2 "$LLEVAL" prepare --config notype.yaml
grep -q "needs 'type'" err.txt || fail "missing type: $(cat err.txt)"

# an unknown --dataset
expect_status 2 "$LLEVAL" prepare --config broken.yaml --dataset small_nqq
grep -q "did you mean 'small_nq'" err.txt || fail "unknown --dataset: $(cat err.txt)"

# ---- the real datasets ------------------------------------------------------
shared=${LLEVAL_SHARED_DIR:-}
if [ -z "$shared" ] || [ ! -f "$shared/datasets/nq_open/NQ-open.dev.jsonl" ] ||
    [ ! -f "$shared/datasets/xquad/xquad.en.json" ] || [ ! -d "$shared/datasets/mmlu/test" ]; then
    echo "test_prepare: shared datasets not found under '${shared}'; skipping the real-data part"
    exit 0
fi
cat >real.yaml <<YAML
datasets:
  - {name: nq_open, format: nq_open, path: $shared/datasets/nq_open/NQ-open.dev.jsonl}
  - {name: xquad, format: squad, path: $shared/datasets/xquad/xquad.en.json}
  - {name: mmlu, format: mmlu, path: $shared/datasets/mmlu, split: test}
paths:
  prepared_dir: data/prepared
YAML
expect_status 0 "$LLEVAL" prepare --config real.yaml
for want in "nq_open 3610" "xquad 1190" "mmlu 14079"; do
    set -- $want
    [ "$(lines data/prepared/$1.jsonl)" = "$2" ] || fail "$1.jsonl has $(lines data/prepared/$1.jsonl) lines, expected $2"
    [ "$(info_field data/prepared/$1.info.json items)" = "$2" ] || fail "$1.info.json items"
    grep -q "^$1 .* $2 " out.txt || fail "no table row for $1: $(cat out.txt)"
done
grep -q '^prepared 18879 items from 3 datasets into data/prepared$' out.txt || fail "total: $(cat out.txt)"
head -1 data/prepared/nq_open.jsonl | grep -q '"id":"nq-00001"' || fail "first nq id"
grep -q '"id":"56beb4343aeaaa14008c925b"' data/prepared/xquad.jsonl || fail "xquad id"
head -1 data/prepared/mmlu.jsonl | grep -q '"id":"abstract_algebra-test-1".*"answers":\["B"\]' || fail "first mmlu item"

# --dataset and --limit-items touch only the named dataset; --json prints the stats
cp data/prepared/nq_open.jsonl nq_before.jsonl
expect_status 0 "$LLEVAL" prepare --config real.yaml --dataset mmlu --limit_items 25 --json
python3 - <<'PY'
import json
out = json.load(open("out.txt"))
assert out["items"] == 25 and out["errors"] == [], out
(ds,) = out["datasets"]
assert ds["dataset"] == "mmlu" and ds["items"] == 25 and ds["limited"] is True, ds
assert ds["output"] == "data/prepared/mmlu.jsonl", ds
PY
[ "$(lines data/prepared/mmlu.jsonl)" = 25 ] || fail "limited mmlu.jsonl"
cmp -s nq_before.jsonl data/prepared/nq_open.jsonl || fail "--dataset mmlu touched nq_open"
echo "test_prepare: ok"
