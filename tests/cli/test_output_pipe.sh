#!/usr/bin/env bash
# A reader that closes the pipe early (`lleval runs list --json | head -1`) is not an error:
# lleval ends quietly with its own exit status, no "Broken pipe" message. A full disk still is.
. "$(dirname "$0")/lib.sh"
write_sample_config eval.yaml
"$LLEVAL" run --config eval.yaml --run-id r0 -q >/dev/null 2>&1
# enough runs (their manifests suffice) that the listing is far larger than a pipe's buffer
python3 -c "
import os, shutil
for i in range(1, 1001):
    os.mkdir('runs/r%d' % i)
    shutil.copy('runs/r0/manifest.json', 'runs/r%d/manifest.json' % i)"
[ "$("$LLEVAL" runs list | wc -c)" -gt 70000 ] && ok "the listing is larger than a pipe" ||
	not_ok "the listing is too small for the test"

# pipe_check DESCRIPTION READER -- command...: runs command | READER, checks status and stderr
pipe_check() {
	local what=$1 reader=$2 st
	shift 3
	set +e
	"$@" 2>err.txt | $reader >/dev/null
	st=${PIPESTATUS[0]}
	set -e
	if [ "$st" -eq 0 ] && [ ! -s err.txt ]; then
		ok "$what: exit 0, nothing on stderr"
	else
		not_ok "$what: exit $st"
		sed 's/^/    stderr: /' err.txt | head -5
	fi
}
pipe_check "runs list --json | head -1" "head -1" -- "$LLEVAL" runs list --json
pipe_check "runs list | head -1" "head -1" -- "$LLEVAL" runs list
pipe_check "runs list --json | head -c 1" "head -c 1" -- "$LLEVAL" runs list --json
pipe_check "reader gone at once (true)" "true" -- "$LLEVAL" runs list --json
# the whole listing still reaches a reader that wants it
"$LLEVAL" runs list --json >all.json
[ "$(python3 -c "import json; print(len(json.load(open('all.json'))))")" -eq 1001 ] &&
	ok "the whole listing when read to the end" || not_ok "listing incomplete"

# a write error that is not a closed pipe is still an error (exit 4)
if [ -w /dev/full ]; then
	st=0
	"$LLEVAL" runs list --json >/dev/full 2>err.txt || st=$?
	[ "$st" -eq 4 ] && ok "runs list > /dev/full exits 4" || not_ok "/dev/full: exit $st, wanted 4"
	expect_grep "cannot write to standard output" err.txt "says it cannot write"
fi

# engine and model text reaches the terminal without its control characters
python3 -c "
import json
m = json.load(open('runs/r0/manifest.json'))
m['model_id'] = 'evil\x1b]0;pwned\x07\x1b[2J\u202e'
json.dump(m, open('runs/r0/manifest.json', 'w'))"
expect_exit 0 "runs list with a hostile model name" -- "$LLEVAL" runs list
if LC_ALL=C grep -q "$(printf '\033')" out.txt; then not_ok "an ESC byte reached the terminal"; else
	ok "no ESC byte in the listing"
fi
expect_grep 'evil\\x1b\]0;pwned\\x07\\x1b\[2J\\u202e' out.txt "shown as visible escapes"
finish
