#!/usr/bin/env bash
# scripts/provision-llama.sh started twice at once builds llama.cpp once: the
# second waits on the first's lock and then returns the cache the first made.
# npm is a stand-in that serves a tiny CMake project (with llama-server and
# llama-quantize targets) as the node-llama-cpp package, and holds the first
# build until the second is seen waiting, so the two always overlap.
source "$(dirname "$0")/lib.sh"

mkdir -p proj fakebin
cat >proj/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.16)
project(tiny C)
set(CMAKE_RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
add_executable(llama-server main.c)
add_executable(llama-quantize main.c)
CM
echo 'int main(void) { return 0; }' >proj/main.c
git -C proj init -q
git -C proj add -A
git -C proj -c user.name=t -c user.email=t@example.invalid commit -qm tiny
mkdir -p pkg/package/llama
git -C proj bundle create -q "$work/pkg/package/llama/gitRelease.bundle" HEAD 2>/dev/null ||
	git -C proj bundle create "$work/pkg/package/llama/gitRelease.bundle" HEAD
tar -czf node-llama-cpp.tgz -C pkg package

cat >fakebin/npm <<FAKE
#!/usr/bin/env bash
echo "npm \$*" >>"$work/npm.log"
# only the first fetch is held
if [ "\$(wc -l <"$work/npm.log")" -eq 1 ]; then
	for _ in \$(seq 1 6000); do [ -e "$work/go" ] && break; sleep 0.1; done
fi
cp "$work/node-llama-cpp.tgz" node-llama-cpp-3.21.1.tgz
FAKE
chmod +x fakebin/npm

# wait_for FILE PATTERN [PID]: until PATTERN is in FILE (false once PID has
# ended without it; bounded at 5 minutes)
wait_for() {
	for _ in $(seq 1 3000); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			grep -q -- "$2" "$1" 2>/dev/null
			return
		fi
		sleep 0.1
	done
	return 1
}

export LLEVAL_CACHE="$work/cache" LLEVAL_FORCE_PROVISION=1 PATH="$work/fakebin:$PATH"
script="$LLEVAL_SOURCE_DIR/scripts/provision-llama.sh"
bash "$script" >a.out 2>a.err &
a=$!
if wait_for npm.log npm; then ok "the first set-up started its build"; else not_ok "the first set-up never fetched"; fi
bash "$script" >b.out 2>b.err &
b=$!
if wait_for b.err "waiting for it" "$b"; then ok "the second set-up waits on the first's lock"; else
	not_ok "the second set-up did not wait"
	sed 's/^/    /' b.err | head
fi
touch go
ra=0 rb=0
wait "$a" || ra=$?
wait "$b" || rb=$?
want="$work/cache/llama.cpp-nlc-3.21.1/bin"
if [ "$ra" -eq 0 ] && [ "$rb" -eq 0 ]; then ok "both set-ups succeed"; else
	not_ok "set-ups failed: $ra $rb"
	tail -5 a.err b.err
fi
if [ "$(tail -n 1 a.out)" = "$want" ] && [ "$(tail -n 1 b.out)" = "$want" ]; then
	ok "both print the one cache directory"
else
	not_ok "printed '$(tail -n 1 a.out)' and '$(tail -n 1 b.out)', wanted $want"
fi
if [ "$(wc -l <npm.log)" -eq 1 ]; then ok "llama.cpp fetched and built once"; else
	not_ok "fetched $(wc -l <npm.log) times"
fi
if [ -x "$want/llama-server" ] && [ -x "$want/llama-quantize" ]; then ok "the cache holds both binaries"; else
	not_ok "the cache is incomplete"
fi
finish
