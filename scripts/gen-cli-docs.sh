#!/usr/bin/env bash
# Writes docs/cli.md from the commands' own --help (tests/cli/test_cli_docs.sh
# fails when the committed file is stale): bash scripts/gen-cli-docs.sh build/lleval > docs/cli.md
set -euo pipefail
lleval="${1:-build/lleval}"
export NO_COLOR=1 LC_ALL=C
echo "# Command reference"
echo
echo "Generated from each command's \`--help\` by \`scripts/gen-cli-docs.sh\`. The guide's underscore"
echo "spellings (\`--max_concurrent_jobs\`) work for every option. Exit statuses: 0 success, 1 finished"
echo "with failed requests / findings / a missed threshold, 2 usage, config or input error, 3 engine"
echo "unreachable or model missing, 4 I/O error, 130 interrupted (resumable)."
echo
echo '```'
"$lleval" --help
echo '```'
for c in run prepare build parse score smoke runs import doctor plan tune report config gguf synth-model; do
	printf '\n## lleval %s\n\n```\n' "$c"
	"$lleval" "$c" --help 2>&1
	echo '```'
done
for s in list items compare stop resume; do
	printf '\n## lleval runs %s\n\n```\n' "$s"
	"$lleval" runs "$s" --help 2>&1
	echo '```'
done
