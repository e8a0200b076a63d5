#!/usr/bin/env bash
# Builds llama.cpp's llama-server and llama-quantize from the source that the
# npm package node-llama-cpp@3.21.1 ships (llama/gitRelease.bundle), into a
# cache outside the repository. Does nothing when the cache already holds the
# binaries or llama-server is on PATH (set LLEVAL_FORCE_PROVISION=1 to build
# anyway). Prints the directory holding the binaries on its last line.
# Two set-ups started together build once: the build runs under a lock
# (flock on $cache/.provision-llama.lock); whoever waited for it finds the
# cache complete and returns it.
#
#   LLEVAL_CACHE   cache root (default: $XDG_CACHE_HOME/lleval or ~/.cache/lleval)
set -euo pipefail

version="3.21.1"
cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
dest="$cache/llama.cpp-nlc-$version"
bin="$dest/bin"

if [ -x "$bin/llama-server" ] && [ -x "$bin/llama-quantize" ]; then
	echo "$bin"
	exit 0
fi
if [ -z "${LLEVAL_FORCE_PROVISION:-}" ] && command -v llama-server >/dev/null 2>&1; then
	dirname "$(command -v llama-server)"
	exit 0
fi

for tool in npm git cmake tar flock; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "provision-llama: '$tool' is missing: run scripts/install-deps.sh (and install Node.js/npm)" >&2
		exit 2
	}
done

mkdir -p "$cache"
exec 9>"$cache/.provision-llama.lock"
if ! flock -n 9; then
	echo "provision-llama: another set-up is building llama.cpp in $cache; waiting for it" >&2
	flock 9
fi
if [ -x "$bin/llama-server" ] && [ -x "$bin/llama-quantize" ]; then
	echo "$bin"
	exit 0
fi
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "provision-llama: fetching node-llama-cpp@$version for its llama.cpp source" >&2
(cd "$work" && npm pack --silent "node-llama-cpp@$version" >/dev/null)
tar -xzf "$work/node-llama-cpp-$version.tgz" -C "$work" package/llama/gitRelease.bundle
git clone --quiet "$work/package/llama/gitRelease.bundle" "$work/src" 2>/dev/null ||
	git clone --quiet "$work/package/llama/gitRelease.bundle" "$work/src"
commit=$(git -C "$work/src" rev-parse HEAD)
echo "provision-llama: building llama.cpp $commit (takes ~10 min on 2 cores)" >&2
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
	-DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=OFF >"$work/cmake.log" 2>&1 ||
	{ tail -30 "$work/cmake.log" >&2; exit 4; }
cmake --build "$work/build" -j "$jobs" --target llama-server llama-quantize >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log" >&2; exit 4; }

# Install atomically: a half-built cache never looks complete.
stage="$cache/.stage-$$"
rm -rf "$stage"
mkdir -p "$stage/bin"
cp "$work/build/bin/llama-server" "$work/build/bin/llama-quantize" "$stage/bin/"
echo "$commit" >"$stage/COMMIT"
mkdir -p "$stage/src"
cp -r "$work/src/tools/server/README.md" "$stage/src/server-README.md" 2>/dev/null || true
rm -rf "$dest"
mv "$stage" "$dest"
echo "$bin"
