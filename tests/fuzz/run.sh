#!/usr/bin/env bash
# Builds the GGUF reader's libFuzzer target (clang, -fsanitize=fuzzer,address,undefined)
# and runs it for a bounded time on a seed corpus made by `lleval synth-model`.
# Not part of ctest; see docs/gguf.md.
#
#   tests/fuzz/run.sh [SECONDS]        fuzz for SECONDS (default 60)
#
# Environment: CLANG (default clang), LLEVAL (an lleval binary that makes the seeds;
# default: build one with cmake), FUZZ_DIR (work directory, default build-fuzz in the
# source tree), FUZZ_FLAGS (extra libFuzzer flags, e.g. "-jobs=2").
# A crash leaves its input in $FUZZ_DIR/artifacts/ and makes the script exit non-zero;
# replay it with: $FUZZ_DIR/fuzz_gguf $FUZZ_DIR/artifacts/crash-...
set -euo pipefail

seconds="${1:-60}"
src="$(cd "$(dirname "$0")/../.." && pwd)"
work="${FUZZ_DIR:-$src/build-fuzz}"
clang="${CLANG:-clang}"

command -v "$clang" >/dev/null 2>&1 || { echo "fuzz: '$clang' not found; install clang (with compiler-rt)" >&2; exit 2; }
mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"

echo "fuzz: building $work/fuzz_gguf" >&2
"$clang" -g -O1 -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I "$src/include" "$src/tests/fuzz/fuzz_gguf.c" "$src/lib/model/gguf.c" "$src/lib/model/gguf_info.c" "$src/lib/util/util.c" \
	"$src/lib/util/error.c" "$src/lib/util/redact.c" "$src/lib/util/text.c" -o "$work/fuzz_gguf" \
	-lm -lutf8proc -ljansson

lleval="${LLEVAL:-}"
if [ -z "$lleval" ]; then
	echo "fuzz: building lleval for the seed corpus" >&2
	cmake -S "$src" -B "$work/lleval-build" -DCMAKE_BUILD_TYPE=Debug -DLLEVAL_TESTS=OFF >/dev/null
	cmake --build "$work/lleval-build" --target lleval -j2 >/dev/null
	lleval="$work/lleval-build/lleval"
fi

# Seeds: small synthesized models of several shapes, whole and cut after the header.
i=0
while read -r args; do
	i=$((i + 1))
	# shellcheck disable=SC2086
	"$lleval" synth-model -q --out "$work/seeds/synth-$i.gguf" $args
	head -c 4096 "$work/seeds/synth-$i.gguf" >"$work/seeds/head-$i.gguf"
done <<'SHAPES'
--vocab 259 --embd 8 --heads 2 --layers 1 --type f32
--vocab 262 --embd 8 --heads 2 --layers 1 --type f16 --seed 1
--vocab 300 --embd 16 --heads 4 --kv-heads 2 --layers 2 --ff 32
--vocab 270 --embd 32 --heads 2 --layers 1 --ctx 64 --type f32
SHAPES
if "$lleval" synth-model -q --out "$work/seeds/synth-q8.gguf" --vocab 259 --embd 32 --heads 2 \
	--layers 1 --quantize q8_0 2>/dev/null; then
	echo "fuzz: added a q8_0 seed" >&2
fi

echo "fuzz: running for ${seconds}s" >&2
# shellcheck disable=SC2086
"$work/fuzz_gguf" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-dict="$src/tests/fuzz/gguf.dict" -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	${FUZZ_FLAGS:-} "$work/corpus" "$work/seeds"
