#!/usr/bin/env bash
# The guide's commands, verbatim, from a fresh checkout: every command of the
# "Command References" section of performance-tuning-guide.md (in the shared
# folder beside the checkout) is read from the guide itself and run as written,
# with `lleval` for `python -m scripts...` (the table in README.md), against the
# shipped config/eval_config.yaml: a managed llama-server (the cached build) on the
# shared tiny model and the shared datasets. A `python -m` command with no lleval
# counterpart, or one that fails, fails this test; tools that are not lleval's
# (nvidia-smi) are listed as skipped. Runs the guide names (compare_runs, stop_run)
# are made first: two short dry runs, and a slow dry run that stop_run stops.
source "$(dirname "$0")/llama_lib.sh"
set -euo pipefail

shared="${LLEVAL_SHARED_DIR:-$LLEVAL_SOURCE_DIR/../shared}"
guide="$shared/seed/performance-tuning-guide.md"
[ -f "$guide" ] || skip_all "no guide at $guide"
[ -f "$shared/models/llama-2-tiny-random.gguf" ] || skip_all "no shared tiny model in $shared/models"
[ -d "$shared/datasets" ] || skip_all "no shared datasets in $shared/datasets"

# a fresh checkout: the shipped config, and ../shared beside it
mkdir -p "$work/clone"
cp -r "$LLEVAL_SOURCE_DIR/config" "$work/clone/config"
ln -s "$(cd "$shared" && pwd)" "$work/shared"
cd "$work/clone"
cleanup_clone() {
	local p
	for p in "$work"/clone/runs/*/logs/llama-server.pid "$work"/clone/runs/.smoke-*/runs/*/logs/llama-server.pid; do
		[ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
	done
	cleanup_llama
}
trap cleanup_clone EXIT

# the commands of the "Command References" section: lines of its code blocks
# that are not comments
mapfile -t commands < <(awk '
	/^## / { inside = ($0 ~ /^## Command References/) }
	inside && /^```/ { block = !block; next }
	inside && block && NF && $1 !~ /^#/ { sub(/\r$/, ""); print }
' "$guide")
[ "${#commands[@]}" -ge 9 ] && ok "the guide's Command References hold ${#commands[@]} commands" ||
	not_ok "only ${#commands[@]} commands found in the guide's Command References"

# to_lleval LINE: sets argv_out to the lleval arguments for the guide's command, or
# returns 1 (not an lleval command: external tool) or 2 (a script lleval lacks)
to_lleval() {
	local -a words
	read -r -a words <<<"$1"
	argv_out=()
	if [ "${words[0]}" != python ] || [ "${words[1]:-}" != -m ]; then
		case "${words[0]}" in
		nvidia-smi | ollama | powercfg | Get-Counter | Invoke-WebRequest) return 1 ;;
		*) return 2 ;;
		esac
	fi
	case "${words[2]}" in
	scripts.run_all) argv_out=(run) ;;
	scripts.prepare_data) argv_out=(prepare) ;;
	scripts.build_batches) argv_out=(build) ;;
	scripts.smoke_orchestration) argv_out=(smoke) ;;
	scripts.list_runs) argv_out=(runs list) ;;
	scripts.compare_runs) argv_out=(runs compare) ;;
	scripts.stop_run) argv_out=(runs stop) ;;
	*) return 2 ;;
	esac
	argv_out+=("${words[@]:3}")
}

# count_lines FILE: lines of FILE, 0 when missing
count_lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
# newest_run: the id of the newest run in runs/
newest_run() { ls -t runs 2>/dev/null | grep '^run_' | head -n 1; }
# manifest_field RUN KEY
manifest_field() {
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "runs/$1/manifest.json" "$2"
}

# make_runs IDS...: short dry runs with these ids, for the commands that name runs
make_runs() {
	local id
	for id in "$@"; do
		[ -d "runs/$id" ] && continue
		"$LLEVAL" run --config config/eval_config.yaml --dry_run --limit_items 3 --run-id "$id" -q \
			>"setup-$id.out" 2>&1 || not_ok "setup: dry run $id"
	done
}

# start_slow_run ID: a dry run with that id that takes a while, running in the background
start_slow_run() {
	rm -rf "runs/$1"
	LLEVAL_DRY_DELAY_MS=300 "$LLEVAL" run --config config/eval_config.yaml --dry_run --run-id "$1" -q \
		>"slow-$1.out" 2>&1 &
	slow_pid=$!
	bg_pids+=("$slow_pid")
	local i
	for i in $(seq 1 600); do
		[ -f "runs/$1/lock" ] && [ -f "runs/$1/manifest.json" ] &&
			[ "$(manifest_field "$1" status 2>/dev/null)" = running ] && return 0
		sleep 0.1
	done
	return 1
}

# check_after CMD...: what the command must have produced, beyond its exit status 0
check_after() {
	local run
	case "$*" in
	"run "*--dry_run*)
		run=$(newest_run)
		[ "$(manifest_field "$run" engine)" = dry ] && ok "  the dry run used the dry engine" ||
			not_ok "  the dry run used $(manifest_field "$run" engine)"
		;;
	"run "*"--limit_items 50"*)
		run=$(newest_run)
		[ "$(manifest_field "$run" engine)" = llamacpp ] && ok "  a real llama-server answered" ||
			not_ok "  engine $(manifest_field "$run" engine)"
		[ "$(count_lines "runs/$run/results/results_combined.jsonl")" -eq 150 ] &&
			ok "  50 items of each of the 3 datasets answered" ||
			not_ok "  $(count_lines "runs/$run/results/results_combined.jsonl") results, wanted 150"
		;;
	"run "*--skip_prepare*)
		run=$(newest_run)
		[ "$(count_lines "runs/$run/results/results_combined.jsonl")" -eq 60 ] &&
			ok "  the prepared and built items (20 per dataset) answered" ||
			not_ok "  $(count_lines "runs/$run/results/results_combined.jsonl") results, wanted 60"
		;;
	"smoke "*)
		expect_grep "all smoke checks passed" out.txt "  every smoke check passed"
		expect_grep "engine llamacpp" out.txt "  the smoke run used llama-server"
		;;
	"prepare "*)
		[ "$(count_lines data/prepared/nq_open.jsonl)" -eq 20 ] && ok "  the datasets were prepared" ||
			not_ok "  data/prepared/nq_open.jsonl has $(count_lines data/prepared/nq_open.jsonl) items"
		;;
	"build "*)
		[ -n "$(ls data/batches 2>/dev/null)" ] && ok "  batches were built" || not_ok "  no batches in data/batches"
		;;
	"runs list"*)
		expect_grep "run_" out.txt "  the runs are listed"
		;;
	"runs stop "*)
		local i
		for i in $(seq 1 600); do
			kill -0 "$slow_pid" 2>/dev/null || break
			sleep 0.1
		done
		wait "$slow_pid" 2>/dev/null || true
		[ "$(manifest_field run_20240909_123456 status)" = stopped ] && ok "  the run stopped" ||
			not_ok "  the run is $(manifest_field run_20240909_123456 status)"
		;;
	esac
}

for line in "${commands[@]}"; do
	rc=0
	to_lleval "$line" || rc=$?
	if [ "$rc" -eq 1 ]; then
		echo "skip - not an lleval command: $line"
		continue
	elif [ "$rc" -ne 0 ]; then
		not_ok "the guide's command has no lleval counterpart: $line"
		continue
	fi
	echo "# $line"
	echo "#   lleval ${argv_out[*]}"
	case "${argv_out[*]}" in
	"runs compare "*) make_runs "${argv_out[@]:2}" ;;
	"runs stop "*)
		start_slow_run run_20240909_123456 || not_ok "setup: the run to stop did not start"
		;;
	esac
	expect_exit 0 "guide: lleval ${argv_out[*]}" -- "$LLEVAL" "${argv_out[@]}"
	check_after "${argv_out[*]}"
done

finish
