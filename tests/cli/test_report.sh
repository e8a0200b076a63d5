#!/usr/bin/env bash
# lleval run writes report.html and report.md as its last step; lleval report
# rewrites them for an existing run (also one stopped after poll) and checks
# its run id.
. "$(dirname "$0")/lib.sh"

write_sample_config eval.yaml
expect_exit 0 "dry run" -- "$LLEVAL" run --config eval.yaml --run-id r
expect_grep "report: runs/r/report.html" err.txt "the run announces its report"
[ -s runs/r/report.html ] && ok "report.html written by the run" || not_ok "no runs/r/report.html"
[ -s runs/r/report.md ] && ok "report.md written by the run" || not_ok "no runs/r/report.md"
expect_grep "^<!DOCTYPE html>" runs/r/report.html "report.html is an HTML page"
expect_grep 'id="scores"' runs/r/report.html "report.html has the scores section"
expect_grep 'id="doctor"' runs/r/report.html "report.html has the doctor section"
expect_grep 'id="samples"' runs/r/report.html "report.html has sample answers"
expect_grep "<svg class=\"chart\"" runs/r/report.html "report.html has an inline chart"
# the only scripts are the item explorer's (test_report_browser.sh checks them)
if grep -v '^<script type="application/json" id="x-data">' runs/r/report.html |
	grep -qi "<script [^>]*src\|<link\|https\?://"; then
	not_ok "report.html has external references"
else
	ok "report.html is self-contained"
fi
expect_grep "^# lleval report: r$" runs/r/report.md "report.md has its title"
expect_grep "^| sample\\\\_closed | direct | 0 | 16 | " runs/r/report.md "report.md has the scores rows"
expect_grep "status \*\*done\*\*" runs/r/report.md "report.md shows the final status"

# rewrite: the command prints both paths and replaces the files
rm runs/r/report.md
echo stale >runs/r/report.html
expect_exit 0 "lleval report r" -- "$LLEVAL" report r
expect_grep "^runs/r/report.html$" out.txt "prints the HTML path"
expect_grep "^runs/r/report.md$" out.txt "prints the Markdown path"
expect_grep "^<!DOCTYPE html>" runs/r/report.html "report.html rewritten"
[ -s runs/r/report.md ] && ok "report.md rewritten" || not_ok "report.md not rewritten"
expect_exit 0 "lleval report --open-path" -- "$LLEVAL" report r --open-path
[ "$(cat out.txt)" = "runs/r/report.html" ] && ok "--open-path prints only the page" ||
	not_ok "--open-path printed: $(cat out.txt)"

# another runs directory
mkdir elsewhere
mv runs/r elsewhere/r
expect_exit 0 "lleval report --runs-dir" -- "$LLEVAL" report r --runs-dir elsewhere
expect_grep "^elsewhere/r/report.html$" out.txt "uses --runs-dir"

# a run stopped after poll still gets a report, saying the scores are missing
expect_exit 0 "run to poll" -- "$LLEVAL" run --config eval.yaml --run-id polled --to-step poll
[ -e runs/polled/report.html ] && not_ok "--to-step poll wrote a report" || ok "--to-step poll writes no report"
expect_exit 0 "report of a polled run" -- "$LLEVAL" report polled
expect_grep "scores are missing" runs/polled/report.html "HTML says the scores are missing"
expect_grep "scores are missing" runs/polled/report.md "Markdown says the scores are missing"

# bad input
expect_exit 2 "bad run id" -- "$LLEVAL" report ../etc
expect_grep "invalid run id" err.txt "names the bad run id"
expect_exit 2 "unknown run" -- "$LLEVAL" report nope
expect_grep "no run 'nope'" err.txt "names the missing run"
expect_exit 2 "no run id" -- "$LLEVAL" report
expect_exit 2 "unknown option" -- "$LLEVAL" report r --bogus
mkdir runs/empty
expect_exit 2 "a directory that is not a run" -- "$LLEVAL" report empty
expect_grep "no manifest.json" err.txt "says it is not a run"

finish
