#!/usr/bin/env bash
# Files inside a run directory are opened as what they claim to be (issue 9,
# point 6): a journal, state.json, manifest.json, batch file or predictions.csv
# replaced by a link to a victim file outside the run is refused by `runs
# resume` with a message naming it (where resume opens it), and no command
# (resume, doctor, report) changes the victim by a byte; a FIFO in place of a
# journal does not hang; temp files a killed writer left ("*.tmp.<pid>") are
# removed on resume when their pid is gone, kept when it runs.
source "$(dirname "$0")/lib.sh"
cat >eval.yaml <<'YAML'
engine: dry
model_id: dry-model
temps: [0.0]
parts_per_dataset: 2
datasets:
  - {name: sample_closed, format: nq_open, path: examples/data/closed_book.jsonl}
YAML
expect_exit 0 "a finished run" -- "$LLEVAL" run --config eval.yaml --run-id done -q
mv runs/done pristine

fresh() { rm -rf runs && mkdir runs && cp -r pristine runs/r; }

journal=results/parts/sample_closed/t0/part-001.jsonl
state=parts/sample_closed/t0/part-001/state.json
batch=batches/sample_closed/t0/part-001.jsonl
# artifact, and whether `runs resume` opens it (then it must refuse it)
for spec in "$journal refused" "$state refused" "manifest.json refused" "$batch refused" \
    "results/predictions.csv replaced"; do
	set -- $spec
	a=$1
	for cmd in "runs resume r" "doctor r" "report r"; do
		fresh
		# the victim: the artifact's bytes and a tail a repair would cut
		cp "runs/r/$a" victim && printf 'tail without newline' >>victim && cp victim victim.orig
		rm "runs/r/$a" && ln -s "$PWD/victim" "runs/r/$a"
		got=0
		timeout 120 "$LLEVAL" $cmd >out.txt 2>err.txt || got=$?
		if cmp -s victim victim.orig; then ok "$a linked, $cmd: the victim is unchanged"; else
			not_ok "$a linked, $cmd: the victim changed"
		fi
		[ "$got" -ne 124 ] || not_ok "$a linked, $cmd: hung"
		if [ "$cmd" = "runs resume r" ] && [ "$2" = refused ]; then
			[ "$got" -eq 4 ] && ok "$a linked: resume refuses (exit 4)" ||
				not_ok "$a linked: resume exit $got, wanted 4"
			expect_grep "'runs/r/$a' is a symbolic link: lleval does not follow links inside a run directory; replace it with the file" \
				err.txt "$a linked: the refusal names the file"
		fi
	done
done

# a FIFO in place of a journal: refused at once, not waited on
fresh
rm "runs/r/$journal" && mkfifo "runs/r/$journal"
got=0
timeout 60 "$LLEVAL" runs resume r >out.txt 2>err.txt || got=$?
[ "$got" -eq 4 ] && ok "a FIFO journal is refused (exit 4)" || not_ok "a FIFO journal: exit $got, wanted 4"
expect_grep "'runs/r/$journal' is a FIFO, not a regular file" err.txt "the FIFO refusal names the file"

# stale temp files: a dead pid's are removed on resume, a live one's kept
fresh
sleep 0.1 &
dead=$!
wait "$dead"
for f in manifest.json "$state" results/predictions.csv; do
	echo stale >"runs/r/$f.tmp.$dead"
done
echo live >"runs/r/manifest.json.tmp.$$"
expect_exit 0 "resume of a run with stale temp files" -- "$LLEVAL" runs resume r -q
for f in manifest.json "$state" results/predictions.csv; do
	[ ! -e "runs/r/$f.tmp.$dead" ] && ok "$f.tmp.<dead pid> removed" || not_ok "$f.tmp.$dead kept"
done
[ -e "runs/r/manifest.json.tmp.$$" ] && ok "a live pid's temp file is kept" ||
	not_ok "manifest.json.tmp.$$ (a live pid) was removed"

# outside a run directory links keep working: a dataset that is a link
ln -s "$PWD/examples/data/closed_book.jsonl" linked.jsonl
sed 's#examples/data/closed_book.jsonl#linked.jsonl#' eval.yaml >linked.yaml
ln -s "$PWD/linked.yaml" config-link.yaml
expect_exit 0 "a linked dataset and a linked --config still run" -- \
	"$LLEVAL" run --config config-link.yaml --run-id linked -q
finish
