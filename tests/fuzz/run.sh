#!/usr/bin/env bash
# Builds lleval's libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined)
# and runs each for a bounded time on its checked-in seed corpus
# (tests/fuzz/corpus/<target>/). See docs/fuzzing.md.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   (default 60 s, every target)
#   tests/fuzz/run.sh --smoke                            (ctest fuzz/smoke: seeds + 4000 fixed inputs each)
#   tests/fuzz/run.sh --list                             (the target names)
#
# Environment: CLANG (default clang, else clang-14), FUZZ_DIR (work directory, default build-fuzz in
# the source tree: the library build, the binaries, the grown corpora, the logs and
# the artifacts), FUZZ_FLAGS (extra libFuzzer flags, e.g. "-jobs=2"), FUZZ_BUILD_JOBS
# (default 2).
# The library is built with CMake from the same lib/*.c glob as lleval itself, so a
# new library file needs no edit here. New inputs libFuzzer finds go to
# $FUZZ_DIR/corpus/<target>/, never into the source tree. A crash, leak, timeout or
# failed check leaves its input in $FUZZ_DIR/artifacts/<target>/ and makes the
# script exit 1, naming the target and the command that replays the input.
set -euo pipefail

src="$(cd "$(dirname "$0")/../.." && pwd)"
fuzz_src="$src/tests/fuzz"
work="${FUZZ_DIR:-$src/build-fuzz}"
clang="${CLANG:-}"
if [ -z "$clang" ]; then
	clang=clang
	command -v clang >/dev/null 2>&1 || clang=clang-14
fi
jobs="${FUZZ_BUILD_JOBS:-2}"

# target name, source file, extra compile flags, dictionary
TARGETS=(
	"gguf fuzz_gguf.c - gguf.dict"
	"reply_openai fuzz_reply.c -DFUZZ_ENGINE=LLEVAL_ENGINE_OPENAI json.dict"
	"reply_ollama fuzz_reply.c -DFUZZ_ENGINE=LLEVAL_ENGINE_OLLAMA json.dict"
	"reply_llamacpp fuzz_reply.c -DFUZZ_ENGINE=LLEVAL_ENGINE_LLAMACPP json.dict"
	"probe_openai fuzz_probe.c -DFUZZ_ENGINE=LLEVAL_ENGINE_OPENAI json.dict"
	"probe_ollama fuzz_probe.c -DFUZZ_ENGINE=LLEVAL_ENGINE_OLLAMA json.dict"
	"probe_llamacpp fuzz_probe.c -DFUZZ_ENGINE=LLEVAL_ENGINE_LLAMACPP json.dict"
	"result fuzz_result.c - json.dict"
	"items fuzz_items.c - json.dict"
	"prepared fuzz_prepared.c - json.dict"
	"rundir fuzz_rundir.c - json.dict"
	"config fuzz_config.c - yaml.dict"
	"csv fuzz_csv.c - csv.dict"
	"dataset_squad fuzz_dataset.c -DFUZZ_FORMAT_NAME=squad json.dict"
	"dataset_nq fuzz_dataset.c -DFUZZ_FORMAT_NAME=nq_open json.dict"
	"dataset_mmlu fuzz_dataset.c -DFUZZ_FORMAT_NAME=mmlu csv.dict"
	"dataset_jsonl fuzz_dataset.c -DFUZZ_FORMAT_NAME=jsonl json.dict"
	"dataset_csv fuzz_dataset.c -DFUZZ_FORMAT_NAME=csv csv.dict"
)

seconds=60
if [ "${1:-}" = "--list" ]; then
	for t in "${TARGETS[@]}"; do echo "${t%% *}"; done
	exit 0
fi
smoke=""
if [ "${1:-}" = "--smoke" ]; then
	# ctest's fuzz/smoke: every target replays its seeds, then runs a fixed
	# number of inputs from a fixed seed into a fresh corpus: the same inputs on
	# every machine, so CI never fails by chance (exploring is make fuzz's job);
	# 60 s per target is only a safety bound
	smoke=1
	seconds=60
	shift
elif [ $# -gt 0 ]; then
	seconds="$1"
	shift
fi
case "$seconds" in
'' | *[!0-9]*) echo "fuzz: SECONDS_PER_TARGET must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac
wanted=("$@")

# clang and its libFuzzer runtime (Debian: the clang-14 package; scripts/install-deps.sh)
fuzzer_rt=""
if command -v "$clang" >/dev/null 2>&1; then
	fuzzer_rt="$("$clang" -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || true)"
	case "$(uname -m)" in
	aarch64) fuzzer_rt="$("$clang" -print-file-name=libclang_rt.fuzzer-aarch64.a 2>/dev/null || true)" ;;
	esac
fi
if [ -z "$fuzzer_rt" ] || [ ! -f "$fuzzer_rt" ]; then
	echo "fuzz: '$clang' with libFuzzer (compiler-rt) not found: run scripts/install-deps.sh" \
		"(it installs clang-14 and libclang-rt-14-dev), or set CLANG to a clang that has it" >&2
	exit 2
fi

selected=()
for t in "${TARGETS[@]}"; do
	name="${t%% *}"
	if [ ${#wanted[@]} -eq 0 ]; then
		selected+=("$t")
		continue
	fi
	for w in "${wanted[@]}"; do
		if [ "$w" = "$name" ]; then selected+=("$t"); fi
	done
done
for w in "${wanted[@]}"; do
	found=0
	for t in "${TARGETS[@]}"; do [ "${t%% *}" = "$w" ] && found=1; done
	if [ $found -eq 0 ]; then
		echo "fuzz: no target '$w' (tests/fuzz/run.sh --list names them)" >&2
		exit 2
	fi
done

# The library, instrumented for coverage and sanitized, from lleval's own CMake.
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
echo "fuzz: building the library in $work/lib" >&2
mkdir -p "$work/lib" "$work/bin" "$work/logs"
CC="$clang" cmake -S "$src" -B "$work/lib" -DCMAKE_BUILD_TYPE=Debug -DLLEVAL_TESTS=OFF \
	-DCMAKE_C_FLAGS="-O1 -fno-omit-frame-pointer $san" >"$work/logs/cmake.log" 2>&1 ||
	{ cat "$work/logs/cmake.log" >&2; exit 1; }
cmake --build "$work/lib" --target lleval_core -j "$jobs" >"$work/logs/build.log" 2>&1 ||
	{ grep -E "error|warning" "$work/logs/build.log" >&2 || tail -n 30 "$work/logs/build.log" >&2; exit 1; }
lib="$work/lib/liblleval_core.a"
# shellcheck disable=SC2207
libs=($(pkg-config --libs libcurl yaml-0.1 jansson libutf8proc) -lpthread -ldl -lm)

# One binary per target, FUZZ_BUILD_JOBS at a time; rebuilt when its sources,
# the library or this script changed.
build_target() {
	local name="$1" file="$2" flags="$3" bin="$work/bin/fuzz_$1"
	[ "$flags" = "-" ] && flags=""
	# shellcheck disable=SC2086
	"$clang" -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $flags \
		-Wall -Wextra -Werror -Wno-unused-parameter -Wno-unused-function \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I "$src/include" "$fuzz_src/$file" "$lib" "${libs[@]}" -o "$bin.tmp" \
		>"$work/logs/build-$name.log" 2>&1 && mv "$bin.tmp" "$bin"
}
pids=()
names=()
for t in "${selected[@]}"; do
	read -r name file flags _ <<<"$t"
	bin="$work/bin/fuzz_$name"
	if [ ! -x "$bin" ] || [ "$fuzz_src/$file" -nt "$bin" ] || [ "$fuzz_src/fuzz_common.h" -nt "$bin" ] ||
		[ "$lib" -nt "$bin" ] || [ "$0" -nt "$bin" ]; then
		echo "fuzz: building $bin" >&2
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
		build_target "$name" "$file" "$flags" &
		pids+=($!)
		names+=("$name")
	fi
done
build_failed=0
for i in "${!pids[@]}"; do
	if ! wait "${pids[$i]}"; then
		echo "fuzz: cannot build fuzz_${names[$i]}:" >&2
		cat "$work/logs/build-${names[$i]}.log" >&2
		build_failed=1
	fi
done
[ $build_failed -eq 0 ] || exit 1

failed=()
total=0
for t in "${selected[@]}"; do
	read -r name _ _ dict <<<"$t"
	bin="$work/bin/fuzz_$name"
	seeds="$fuzz_src/corpus/$name"
	corpus="$work/corpus/$name"
	artifacts="$work/artifacts/$name"
	log="$work/logs/$name.log"
	max_len=16384
	[ "$name" = gguf ] && max_len=65536
	limits=(-max_total_time="$seconds")
	if [ -n "$smoke" ]; then
		corpus="$work/smoke-corpus/$name"
		rm -rf "$corpus"
		limits+=(-seed=20261207 -runs=4000)
	fi
	mkdir -p "$corpus" "$artifacts"
	rc=0
	# shellcheck disable=SC2086
	"$bin" "${limits[@]}" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
		-dict="$fuzz_src/$dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
		${FUZZ_FLAGS:-} "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
	runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
	if [ $rc -ne 0 ]; then
		input="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
		echo "fuzz: $name FAILED (exit $rc); log $log" >&2
		grep -E "ERROR: |SUMMARY: |fuzz: check failed|runtime error" "$log" | head -n 5 >&2 || true
		echo "fuzz: replay with: $bin ${input:-$artifacts/<input>}" >&2
		failed+=("$name")
	else
		if [ -n "$smoke" ]; then
			echo "fuzz: $name ok: ${runs:-?} inputs (seed 20261207)" >&2
		else
			echo "fuzz: $name ok: ${runs:-?} inputs in ${seconds}s" >&2
		fi
	fi
	total=$((total + 1))
done

if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: ${#failed[@]} of $total targets failed: ${failed[*]}" >&2
	exit 1
fi
if [ -n "$smoke" ]; then
	echo "fuzz: all $total targets ran their seeds and 4000 inputs each without a finding" >&2
else
	echo "fuzz: all $total targets ran ${seconds}s each without a finding" >&2
fi
