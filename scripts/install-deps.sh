#!/usr/bin/env bash
# Installs lleval's Debian build dependencies when they are missing.
# Idempotent: a second run checks with dpkg and returns at once.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git libcurl4-openssl-dev libyaml-dev
      libjansson-dev libutf8proc-dev libcmocka-dev python3 curl ca-certificates
      clang-format-14 clang-14 libclang-rt-14-dev
      chromium chromium-driver) # the report's browser test (tests/cli/test_report_browser.sh)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
