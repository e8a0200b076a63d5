#!/usr/bin/env bash
# docs/cli.md is generated from --help: fail when it is stale.
set -euo pipefail
: "${LLEVAL:?}" "${LLEVAL_SOURCE_DIR:?}"
fresh=$(mktemp)
trap 'rm -f "$fresh"' EXIT
bash "$LLEVAL_SOURCE_DIR/scripts/gen-cli-docs.sh" "$LLEVAL" >"$fresh"
if diff -u "$LLEVAL_SOURCE_DIR/docs/cli.md" "$fresh"; then
	echo "1 passed, 0 failed"
else
	echo "docs/cli.md is stale: run bash scripts/gen-cli-docs.sh build/lleval > docs/cli.md"
	echo "0 passed, 1 failed"
	exit 1
fi
