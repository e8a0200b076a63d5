#!/usr/bin/env bash
# runs compare reads each run's results/items.jsonl (lleval_compare_runs in
# lib/score/compare_items.c) where scoring predictions.csv again would print the
# same: the table, --json, exit codes and errors are the same bytes with and
# without items.jsonl, with a stale one (predictions.csv newer, rescored with
# other options) and with a damaged one (scored again,
# never a crash); and it is read (a predictions.csv older than items.jsonl is
# not scored again), --json too (F1 computed again to the last bit).
source "$(dirname "$0")/lib.sh"

cat >eval.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0, 0.7]
scoring: {bootstrap_samples: 200}
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
  - {name: sample_open, format: squad, path: examples/data/open_book.json}
  - {name: sample_mc, format: mmlu, path: examples/data/general_knowledge_test.csv, split: test}
YAML
sed -e 's/^model_id: .*/model_id: [alpha, "beta:7b"]/' eval.yaml >mm.yaml
# multiple choice only: every F1 figure is exact, so --json reads items.jsonl too
sed -e '/sample_closed\|sample_open/d' eval.yaml >mc.yaml

expect_exit 0 "run a" -- "$LLEVAL" run --config eval.yaml --run-id a -q
expect_exit 0 "run b (another model)" -- "$LLEVAL" run --config eval.yaml --model other-dry --run-id b -q
expect_exit 0 "run c (fewer items)" -- "$LLEVAL" run --config eval.yaml --limit_items 3 --run-id c -q
expect_exit 0 "run m (two models)" -- "$LLEVAL" run --config mm.yaml --run-id m -q
expect_exit 0 "run x (multiple choice)" -- "$LLEVAL" run --config mc.yaml --run-id x -q
expect_exit 0 "run y (multiple choice, another model)" -- \
	"$LLEVAL" run --config mc.yaml --model other-dry --run-id y -q
# QA runs large enough that no F1 figure sits on a rounding boundary (as the
# examples' groups of 16 do: those are scored again), SQuAD 2.0 among them
# (no-answer items, abstentions)
shared="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}"
nq="$shared/datasets/nq_open/NQ-open.dev.jsonl"
v2="$shared/datasets/squad_v2/dev-v2.0-normans.json"
qa=()
if [ -f "$nq" ] && [ -f "$v2" ]; then
	cat >qa.yaml <<YAML
engine: dry
model_id: [alpha, "beta:7b"]
temps: [0.0]
limit_items: 300
scoring: {bootstrap_samples: 200, abstain_phrases: [unanswerable, no answer]}
datasets:
  - {name: nq, format: nq_open, path: $nq}
  - {name: sq2, format: squad, type: open_book, path: $v2}
YAML
	expect_exit 0 "run q1 (NQ-open, two models)" -- "$LLEVAL" run --config qa.yaml --run-id q1 -q
	expect_exit 0 "run q2 (NQ-open, another two)" -- "$LLEVAL" run --config qa.yaml --run-id q2 \
		--set 'model_id=gamma,delta' -q
	qa=("q1 q2" "q2 q1 --flips 3" "q1 q2 --json" "q1 q2 --model-a alpha --model-b delta"
		"q1 --model-a alpha --model-b beta:7b")
else
	echo "skip - the shared NQ-open or SQuAD 2.0 file is absent ($shared/datasets): QA runs"
fi
mkdir -p runs/p/results # a run without predictions.csv
cp runs/a/config.resolved.yaml runs/p/

cases=(
	"a b" "b a" "a b --json" "a a" "a a --json" "a b --flips 2" "a b --flips 0 --json"
	"a b --bootstrap 50 --seed 9" "a b --bootstrap 0 --json" "a c" "c a --json"
	"m --model-a alpha --model-b beta:7b" "m --model-a alpha --model-b beta:7b --json"
	"m a --model-a beta:7b" "m --model-a alpha --model-b gamma" "m"
	"x y" "x y --json" "y x --flips 1"
	"a nosuch" "a ../x" "a p" "p a" "a"
	"${qa[@]}"
)

# snap DIR: every case's stdout, stderr and exit status into DIR
snap() {
	local i=0 rc
	rm -rf "$1"
	mkdir -p "$1"
	for c in "${cases[@]}"; do
		rc=0
		# shellcheck disable=SC2086 # each case is its words
		"$LLEVAL" runs compare $c >"$1/$i.out" 2>"$1/$i.err" || rc=$?
		echo "$rc" >"$1/$i.rc"
		i=$((i + 1))
	done
}

runs_with_items() { for f in runs/*/results/items.jsonl; do echo "${f%/results/items.jsonl}"; done; }

# same_as_rescored WHAT: the cases as they are now, then with every items.jsonl
# moved away (each run scored again), are the same bytes
same_as_rescored() {
	local r
	snap now
	for r in $(runs_with_items); do mv "$r/results/items.jsonl" "$r/results/items.away"; done
	snap rescored
	for r in runs/*; do
		[ -f "$r/results/items.away" ] && mv "$r/results/items.away" "$r/results/items.jsonl"
	done
	if diff -r rescored now >diff.txt; then ok "$1: the same bytes as scoring again"; else
		not_ok "$1: not the same bytes as scoring again"
		head -40 diff.txt | sed 's/^/    /'
	fi
}

same_as_rescored "runs with items.jsonl"
cp -r rescored first
for i in "${!cases[@]}"; do
	case "${cases[$i]}" in
	"a b") expect_grep "items paired by custom_id" "first/$i.out" "'a b' compares" ;;
	"a b --json") expect_grep '"f1_diff"' "first/$i.out" "'a b --json' has F1" ;;
	"m --model-a alpha --model-b beta:7b") expect_grep "(without the model)" "first/$i.out" \
		"two models of one run compare" ;;
	"m --model-a alpha --model-b gamma") expect_grep "no scored item of model 'gamma'" \
		"first/$i.err" "a model the run lacks is an error" ;;
	"a nosuch") expect_grep "no run 'nosuch'" "first/$i.err" "an unknown run is an error" ;;
	"p a") expect_grep "has no predictions.csv yet" "first/$i.err" "a run without predictions" ;;
	esac
done
grep -q '^[^0]' first/*.rc && ok "some cases fail (exit 2)" || not_ok "no case failed"

# items.jsonl is what every case that succeeds reads: predictions.csv damaged
# but older than items.jsonl (the examples' QA groups of 16 have F1 means on a
# rounding boundary, 1/16 = 6.25%: there, as for --json, each F1 is computed
# again from items.jsonl's answer and golds, to the last bit)
save=$PWD/saved
mkdir -p "$save"
read_runs="a b m x y $([ ${#qa[@]} -gt 0 ] && echo q1 q2)"
for r in $read_runs; do cp -p "runs/$r/results/predictions.csv" "$save/$r.csv"; done
for r in $read_runs; do
	echo 'not,a,predictions,file' >"runs/$r/results/predictions.csv"
	touch -d "2001-01-01" "runs/$r/results/predictions.csv"
done
for i in "${!cases[@]}"; do
	[ "$(cat "first/$i.rc")" = 0 ] || continue
	rc=0
	# shellcheck disable=SC2086
	"$LLEVAL" runs compare ${cases[$i]} >read.out 2>read.err || rc=$?
	if [ "$rc" = 0 ] && cmp -s read.out "first/$i.out" && cmp -s read.err "first/$i.err"; then
		ok "'${cases[$i]}' reads items.jsonl (predictions.csv is not scored again)"
	else
		not_ok "'${cases[$i]}' did not read items.jsonl (exit $rc)"
		head -5 read.err | sed 's/^/    /'
	fi
done
# predictions.csv newer than items.jsonl: scored again (here: the damaged file's error)
touch "runs/a/results/predictions.csv"
expect_exit 4 "a predictions.csv newer than items.jsonl is scored again" -- \
	"$LLEVAL" runs compare a b
for r in $read_runs; do cp -p "$save/$r.csv" "runs/$r/results/predictions.csv"; done
same_as_rescored "predictions.csv back as it was"
cmp -s <(cat first/*) <(cat now/*) && ok "the same output as at first" || not_ok "output changed"

# stale: run a's predictions.csv replaced by run b's answers (newer than its items.jsonl)
cp "runs/b/results/predictions.csv" "runs/a/results/predictions.csv"
touch "runs/a/results/predictions.csv"
same_as_rescored "predictions.csv newer than items.jsonl"
cmp -s first/0.out now/0.out && not_ok "the new predictions changed nothing" ||
	ok "the new predictions are what is compared"
expect_grep "items paired by custom_id" now/0.out "the table is printed"
cp -p "$save/a.csv" "runs/a/results/predictions.csv"

# rescored with other options (lleval score writes scores.json and items.jsonl again)
for r in a m; do
	cp -p "runs/$r/results/scores.json" "$save/$r.scores"
	cp -p "runs/$r/results/items.jsonl" "$save/$r.items"
	expect_exit 0 "lleval score $r with after_answer extraction" -- "$LLEVAL" score \
		--pred-csv "runs/$r/results/predictions.csv" --prepared-dir data/prepared \
		--answer-extraction after_answer --no-strip-think
done
same_as_rescored "rescored with other options"
cmp -s <(cat first/*) <(cat now/*) && ok "compared with the run's own options" ||
	not_ok "rescoring's options leaked into runs compare"
for r in a m; do
	cp -p "$save/$r.scores" "runs/$r/results/scores.json"
	cp -p "$save/$r.items" "runs/$r/results/items.jsonl"
done

# damaged items.jsonl: scored again, never a crash
items=runs/a/results/items.jsonl
damage() { # damage WHAT SED_OR_COMMAND...
	local what=$1
	shift
	cp -p "$save/a.items" "$items"
	"$@"
	touch -r "$save/a.items" "$items"
	same_as_rescored "items.jsonl $what"
	cmp -s <(cat first/*) <(cat now/*) && ok "items.jsonl $what: as at first" ||
		not_ok "items.jsonl $what: other output"
}
damage "cut in the middle of a line" truncate -s -40 "$items"
damage "with a line of bytes" sed -i '3s/.*/\x00\xff\xfe not json/' "$items"
damage "with a string for a number" sed -i '2s/"f1":[^,]*,/"f1":"x",/' "$items"
damage "without a row" sed -i '4d' "$items"
damage "with a row twice" sed -i '5p' "$items"
damage "empty" truncate -s 0 "$items"
damage "a folder" sh -c "rm -f '$items' && mkdir '$items'"
rmdir "$items" 2>/dev/null || true
cp -p "$save/a.items" "$items"

finish
