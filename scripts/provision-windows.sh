#!/usr/bin/env bash
# Builds the libraries lleval links (libcurl with Schannel, libyaml, jansson,
# utf8proc) and cmocka for the tests as static x86_64-w64-mingw32 libraries,
# from Debian's own source packages pinned to the versions below, into a cache
# outside the repository. Installs the tools it needs (mingw-w64, CMake,
# dpkg-dev, Wine) with apt and adds a deb-src entry for bookworm. Checks the
# result by linking a small program against the four libraries and running it
# under Wine. A second run finds the cache complete and returns at once; two
# runs started together build once (flock). Prints the prefix on its last line.
#
#   LLEVAL_CACHE                  cache root (default: $XDG_CACHE_HOME/lleval or ~/.cache/lleval)
#   LLEVAL_WINDOWS_ALLOW_NEWER=1  build Debian's current versions when a pinned one
#                                 is gone from the archive (a warning instead of a refusal)
#   LLEVAL_JOBS                   parallel build jobs (default 2)
#   LLEVAL_WINDOWS_KEEP_WORK=1    keep the temporary build directory (logs) afterwards
set -euo pipefail

# Debian bookworm versions (apt-cache showsrc). Bump together with the notes
# in docs/windows.md; a new version gives a new cache directory.
pins=(
	"curl=7.88.1-10+deb12u15"
	"libyaml=0.2.5-1"
	"jansson=2.14-2"
	"utf8proc=2.8.0-1"
	"cmocka=1.1.5-2.1"
)
# Bumped when the build steps below change in a way the flags do not show.
recipe=3

triple=x86_64-w64-mingw32
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
toolchain="$here/cmake/mingw-w64-x86_64.cmake"
cache="${LLEVAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lleval}"
jobs="${LLEVAL_JOBS:-2}"

# C99 printf family from mingw (%zu, %lld) rather than msvcrt.dll's, as in lleval.
common_cflags="-O2 -g0 -D_WIN32_WINNT=0x0A00 -D__USE_MINGW_ANSI_STDIO=1"
curl_flags=(-DBUILD_SHARED_LIBS=OFF -DBUILD_CURL_EXE=OFF -DBUILD_TESTING=OFF
	-DENABLE_MANUAL=OFF -DHTTP_ONLY=ON -DCURL_USE_SCHANNEL=ON -DCURL_USE_OPENSSL=OFF
	-DCURL_WINDOWS_SSPI=ON -DCURL_DISABLE_LDAP=ON -DCURL_DISABLE_LDAPS=ON
	-DUSE_LIBIDN2=OFF -DUSE_WIN32_IDN=OFF -DCURL_USE_LIBPSL=OFF -DCURL_USE_LIBSSH2=OFF
	-DCURL_BROTLI=OFF -DCURL_ZSTD=OFF -DCURL_ZLIB=OFF -DUSE_NGHTTP2=OFF
	-DENABLE_UNICODE=ON -DPICKY_COMPILER=OFF)
jansson_flags=(-DJANSSON_BUILD_SHARED_LIBS=OFF -DJANSSON_BUILD_DOCS=OFF
	-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_EXAMPLES=OFF)
utf8proc_flags=(-DBUILD_SHARED_LIBS=OFF -DUTF8PROC_ENABLE_TESTING=OFF)
cmocka_flags=(-DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF)
yaml_flags=(-DBUILD_SHARED_LIBS=OFF -DBUILD_TESTING=OFF -DINSTALL_CMAKE_DIR=lib/cmake/yaml)

# The tools this script and `make windows` need, as Debian packages.
tools=(gcc-mingw-w64-x86-64-win32 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev cmake make
	pkg-config dpkg-dev patch xz-utils python3 wine wine64)

die() {
	echo "provision-windows: $*" >&2
	exit 2
}

sudo_cmd() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_tools() {
	local missing=() p
	for p in "${tools[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "provision-windows: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
	sudo_cmd apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# apt-get source needs deb-src entries; the machine's own list (deb822 in
# debian.sources on bookworm images) has only binary ones. Ours sits beside it.
add_deb_src() {
	local list=/etc/apt/sources.list.d/lleval-src.sources
	if [ -n "$(apt-cache showsrc jansson 2>/dev/null)" ]; then
		return 0
	fi
	echo "provision-windows: adding bookworm deb-src entries in $list" >&2
	sudo_cmd tee "$list" >/dev/null <<-'EOF'
		# Added by lleval's scripts/provision-windows.sh: Debian sources for the
		# Windows cross-build (apt-get source). Safe to delete.
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb-src
		URIs: http://deb.debian.org/debian-security
		Suites: bookworm-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	sudo_cmd apt-get -o DPkg::Lock::Timeout=600 update -qq
}

cache_key() { # the versions, the flags and the compiler name the cache directory
	local cc
	cc=$($triple-gcc-win32 -dumpfullversion 2>/dev/null || echo none)
	printf '%s\n' "recipe=$recipe" "cc=$cc" "cflags=$common_cflags" "${pins[@]}" \
		"${curl_flags[@]}" "${jansson_flags[@]}" "${utf8proc_flags[@]}" "${cmocka_flags[@]}" \
		"${yaml_flags[@]}" | sha256sum | cut -c1-12
}

install_tools
dest="$cache/windows-deps-$(cache_key)"
if [ -f "$dest/VERSIONS" ]; then
	echo "$dest"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.windows-deps.lock"
flock 9
if [ -f "$dest/VERSIONS" ]; then # another run built it while we waited
	echo "$dest"
	exit 0
fi
add_deb_src

work=$(mktemp -d "$cache/windows-build.XXXXXX")
if [ -n "${LLEVAL_WINDOWS_KEEP_WORK:-}" ]; then # for debugging a failed build
	echo "provision-windows: working in $work (kept)" >&2
else
	trap 'rm -rf "$work"' EXIT
fi
prefix="$work/prefix" # installed here, moved into $dest only when complete
mkdir -p "$work/src" "$prefix"
log="$work/build.log"
run() { # run a build step, its output in the log; show the log's tail on failure
	"$@" >>"$log" 2>&1 || {
		tail -40 "$log" >&2
		die "failed: $*"
	}
}

echo "provision-windows: fetching Debian sources: ${pins[*]}" >&2
specs=()
for pin in "${pins[@]}"; do
	pkg=${pin%%=*}
	want=${pin#*=}
	versions=$(apt-cache showsrc "$pkg" | awk '/^Version:/ {print $2}')
	have=$(sort -V <<<"$versions" | tail -1)
	if grep -qxF "$want" <<<"$versions"; then
		specs+=("$pin")
	elif [ -n "${LLEVAL_WINDOWS_ALLOW_NEWER:-}" ] && [ -n "$have" ]; then
		echo "provision-windows: warning: $pkg $want is gone from the archive; building $have" >&2
		specs+=("$pkg=$have")
	else
		die "$pkg $want is not in the archive (it has: ${have:-nothing}): update the pin in" \
			"scripts/provision-windows.sh, or set LLEVAL_WINDOWS_ALLOW_NEWER=1"
	fi
done
# Download as a plain directory operation; dpkg-source applies Debian's
# patches (the security fixes among them). apt verified the files' hashes
# against the signed archive index; dpkg-source's own gpg check of the .dsc
# needs debian-keyring, so its "no public key" notes land in the log.
(cd "$work/src" && run apt-get source -qq --download-only "${specs[@]}")
for dsc in "$work"/src/*.dsc; do
	(cd "$work/src" && run dpkg-source -x "$dsc")
done
srcdir() { find "$work/src" -maxdepth 1 -type d -name "$1-*" | head -1; }

# curl's last two Debian patches rename the library for the GnuTLS and NSS
# flavours (Makefile.am only); debian/rules pops them for the OpenSSL build,
# and so do we.
curl_src=$(srcdir curl)
for p in 99_nss.patch 90_gnutls.patch; do
	run patch -d "$curl_src" -R -p1 -s -i "debian/patches/$p"
done

cmake_build() { # name srcdir flags...
	local name=$1 src=$2
	shift 2
	echo "provision-windows: building $name" >&2
	run cmake -S "$src" -B "$work/build-$name" -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
		-DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_C_FLAGS="$common_cflags" "$@"
	run cmake --build "$work/build-$name" -j "$jobs"
	run cmake --install "$work/build-$name"
}

cmake_build curl "$curl_src" "${curl_flags[@]}"
cmake_build jansson "$(srcdir jansson)" "${jansson_flags[@]}"
cmake_build utf8proc "$(srcdir utf8proc)" "${utf8proc_flags[@]}"
cmake_build cmocka "$(srcdir cmocka)" "${cmocka_flags[@]}"

# libyaml: the Debian tarball (a git export) has no configure script, so its
# CMake build, which installs no .pc file: we fill in the autotools template.
yaml_src=$(srcdir libyaml)
cmake_build libyaml "$yaml_src" "${yaml_flags[@]}"
yaml_version=$(basename "$yaml_src")
sed -e "s|@prefix@|$prefix|; s|@exec_prefix@|\${prefix}|" \
	-e "s|@includedir@|\${prefix}/include|; s|@libdir@|\${prefix}/lib|" \
	-e "s|@PACKAGE_VERSION@|${yaml_version#libyaml-}|" \
	"$yaml_src/yaml-0.1.pc.in" >"$prefix/lib/pkgconfig/yaml-0.1.pc"

# Static only: cmocka always builds a DLL too; keep its static archive under
# the name -lcmocka finds.
# CMake package files and curl-config name the work directory; lleval uses pkg-config.
rm -f "$prefix"/lib/*.dll.a "$prefix"/lib/*.la
rm -rf "${prefix:?}/bin" "$prefix/cmake" "$prefix/lib/cmake" "$prefix/share/doc" "$prefix/share/man"
# cmocka.h checks print_error()'s format as msvcrt's printf (no %zu); cmocka
# was built with mingw's C99 printf, so the check is gnu_printf's.
sed -i 's/__format__ (__printf__, a, b)/__format__ (gnu_printf, a, b)/' "$prefix/include/cmocka.h"
grep -q 'gnu_printf, a, b' "$prefix/include/cmocka.h" || die "cmocka.h: printf attribute not found"
mv "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"

# Make the .pc files describe the static libraries: the system libraries of
# Libs.private join Libs, and Cflags carry the defines the headers need to
# skip __declspec(dllimport). A consumer then needs no --static.
pcdir="$prefix/lib/pkgconfig"
static_pc() { # file define
	python3 - "$1" "$2" <<-'PY'
		import re, sys
		path, define = sys.argv[1], sys.argv[2]
		text = open(path).read()
		priv = re.search(r'^Libs\.private:(.*)$', text, re.M)
		libs = re.search(r'^Libs:(.*)$', text, re.M)
		# The compiler driver adds the mingw runtime itself; each library once.
		implicit = {'-lmingw32', '-lgcc', '-lmoldname', '-lmingwex', '-lkernel32'}
		words = []
		for word in libs.group(1).split() + (priv.group(1).split() if priv else []):
		    if word not in implicit and word not in words:
		        words.append(word)
		text = re.sub(r'^Libs\.private:.*\n', '', text, flags=re.M)
		text = re.sub(r'^Libs:.*$', lambda m: 'Libs: ' + ' '.join(words), text, flags=re.M)
		text = text.replace('-DUTF8PROC_EXPORTS', '')
		if define and define not in text:
		    text = re.sub(r'^(Cflags:.*)$', lambda m: m.group(1).rstrip() + ' ' + define, text,
		                  flags=re.M)
		open(path, 'w').write(text)
	PY
}
static_pc "$pcdir/libcurl.pc" -DCURL_STATICLIB
static_pc "$pcdir/yaml-0.1.pc" -DYAML_DECLARE_STATIC
static_pc "$pcdir/libutf8proc.pc" -DUTF8PROC_STATIC
static_pc "$pcdir/jansson.pc" ""
static_pc "$pcdir/cmocka.pc" ""
# The .pc files name the work directory; make them relocatable.
for pc in "$pcdir"/*.pc; do
	sed -i "s|$prefix|\${pcfiledir}/../..|g" "$pc"
done

# Licenses: shipping static binaries means shipping these notices.
for pkg in curl libyaml jansson utf8proc cmocka; do
	src=$(srcdir "$pkg")
	mkdir -p "$prefix/share/licenses/$pkg"
	for f in COPYING LICENSE LICENSE.md License; do
		[ -f "$src/$f" ] && cp "$src/$f" "$prefix/share/licenses/$pkg/"
	done
	cp "$src/debian/copyright" "$prefix/share/licenses/$pkg/debian-copyright"
	[ -n "$(ls "$prefix/share/licenses/$pkg")" ] || die "no license file found for $pkg"
done

# Check the libraries: link a program against all four and run it under Wine.
echo "provision-windows: checking the libraries under Wine" >&2
cat >"$work/check.c" <<-'C'
	/* provision-windows.sh: checks the static Windows libraries link and work. */
	#include <curl/curl.h>
	#include <jansson.h>
	#include <stdio.h>
	#include <stdlib.h>
	#include <string.h>
	#include <utf8proc.h>
	#include <yaml.h>

	int main(void)
	{
	    curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	    if (!v->ssl_version || !strstr(v->ssl_version, "Schannel")) {
	        fprintf(stderr, "curl: no Schannel (%s)\n", v->ssl_version ? v->ssl_version : "none");
	        return 1;
	    }
	    json_error_t jerr;
	    json_t *j = json_loads("{\"a\": [1, 2.5, \"\\u00e9\"]}", 0, &jerr);
	    if (!j || json_integer_value(json_array_get(json_object_get(j, "a"), 0)) != 1) {
	        fprintf(stderr, "jansson: %s\n", jerr.text);
	        return 1;
	    }
	    json_decref(j);
	    yaml_parser_t parser;
	    yaml_document_t doc;
	    const char *src = "k: [x, y]\n";
	    yaml_parser_initialize(&parser);
	    yaml_parser_set_input_string(&parser, (const unsigned char *)src, strlen(src));
	    if (!yaml_parser_load(&parser, &doc) || !yaml_document_get_root_node(&doc)) {
	        fprintf(stderr, "libyaml: %s\n", parser.problem ? parser.problem : "no document");
	        return 1;
	    }
	    yaml_document_delete(&doc);
	    yaml_parser_delete(&parser);
	    utf8proc_uint8_t *folded = utf8proc_NFKC_Casefold((const utf8proc_uint8_t *)"\xc3\x89T\xef\xac\x81");
	    if (!folded || strcmp((char *)folded, "\xc3\xa9tfi") != 0) {
	        fprintf(stderr, "utf8proc: casefold gave '%s'\n", folded ? (char *)folded : "(null)");
	        return 1;
	    }
	    free(folded);
	    printf("libcurl %s (%s), jansson %s, libyaml %s, utf8proc %s\n", v->version,
	           v->ssl_version, JANSSON_VERSION, yaml_get_version_string(), utf8proc_version());
	    return 0;
	}
C
pkgs=(libcurl jansson yaml-0.1 libutf8proc)
# shellcheck disable=SC2046 # pkg-config output is a list of words
run $triple-gcc-win32 -std=c11 -Wall -Werror -static -o "$work/check.exe" "$work/check.c" \
	$(PKG_CONFIG_LIBDIR="$pcdir" pkg-config --cflags --libs "${pkgs[@]}")
export WINEPREFIX="${WINEPREFIX:-$cache/wine-prefix}" WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono/Gecko installer dialogs
out=$(wine "$work/check.exe" 2>"$work/wine.err") || {
	cat "$work/wine.err" >&2
	die "the check program failed under Wine"
}
echo "provision-windows: $out" >&2

# Install atomically: a half-built cache never looks complete (VERSIONS last).
printf '%s\n' "${specs[@]}" >"$prefix/VERSIONS.tmp"
printf 'check: %s\n' "$out" >>"$prefix/VERSIONS.tmp"
stage="$cache/.stage-windows-$$"
rm -rf "$stage" "$dest"
mv "$prefix" "$stage"
mv "$stage/VERSIONS.tmp" "$stage/VERSIONS"
mv "$stage" "$dest"
echo "$dest"
