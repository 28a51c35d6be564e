#!/usr/bin/env bash
# Installs the Debian packages Parley builds and runs with, only those missing, so a second
# call costs one dpkg query. Run as root (or with sudo available) on Debian 12. clang with
# libclang-rt-14-dev (libFuzzer and clang's sanitizer runtimes) builds the fuzz targets; llvm
# brings llvm-symbolizer, which turns sanitizer reports' addresses into file:line.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git ccache curl ca-certificates
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
      libhiredis-dev libspdlog-dev libcli11-dev libssl-dev
      libgtest-dev libgmock-dev libbenchmark-dev
      redis-server chromium
      clang libclang-rt-14-dev llvm)
# redis-server also starts a system instance on port 6379, which is left alone: tests and
# `make run` start their own redis-server on ports of their own.
command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
