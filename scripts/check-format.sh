#!/usr/bin/env bash
# Formatting: every C file of the project against .clang-format, with one pinned
# clang-format (Debian 12's clang-format-14, 14.0.6; other versions format some
# constructs differently, so CI and developers must use the same one).
#   scripts/check-format.sh        fails listing the files that differ (CI)
#   scripts/check-format.sh --fix  rewrites them in place (make format)
set -euo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-14}
if ! command -v "$cf" >/dev/null 2>&1; then
	echo "check-format: $cf not found; install it with scripts/install-deps.sh" >&2
	exit 2
fi
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files -- '*.c' '*.h')
else
	mapfile -t files < <(find lib include cli tests bench -name '*.[ch]' | sort)
fi
if [ "${1:-}" = "--fix" ]; then
	"$cf" -i --style=file "${files[@]}"
	exit 0
fi
bad=()
for f in "${files[@]}"; do
	if ! "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
		bad+=("$f")
	fi
done
if [ ${#bad[@]} -gt 0 ]; then
	echo "check-format: ${#bad[@]} file(s) differ from .clang-format ($("$cf" --version | sed 's/.*version //')):" >&2
	printf '  %s\n' "${bad[@]}" >&2
	echo "check-format: run 'make format' (scripts/check-format.sh --fix) and commit the result" >&2
	exit 1
fi
echo "check-format: all ${#files[@]} C files match .clang-format"
