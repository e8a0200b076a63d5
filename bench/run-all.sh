#!/usr/bin/env bash
# Runs every benchmark (bench/*/run.sh), one after the other, and prints their
# tables. Benchmarks are not tests: ctest never runs them, and their numbers
# depend on the machine (docs/benchmarks.md records results and explains them).
#
#   bash bench/run-all.sh [build-dir]
#
# build-dir, when given, is handed to each benchmark as BUILD_DIR (each one
# builds lleval there in Release if needed); otherwise each uses its default.
# Exits non-zero when any benchmark failed, after running all of them.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
	case $1 in /*) BUILD_DIR=$1 ;; *) BUILD_DIR=$PWD/$1 ;; esac
	export BUILD_DIR
fi
failed=()
for script in "$root"/bench/*/run.sh; do
	name=${script#"$root"/}
	echo "== $name"
	start=$(date +%s)
	if bash "$script"; then
		echo "== $name: done in $(($(date +%s) - start)) s"
	else
		echo "== $name: FAILED (status $?)" >&2
		failed+=("$name")
	fi
	echo
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed: ${failed[*]}" >&2
	exit 1
fi
