#!/bin/sh
# deps.sh - install the Debian packages sbx needs when their headers or tools
# are missing. Called by the Makefile; a no-op on a machine that has them.
# Usage: mk/deps.sh [build|test|fuzz]
set -u
need=""
check_hdr() { [ -f "/usr/include/$1" ] || [ -f "/usr/include/x86_64-linux-gnu/$1" ] || need="$need $2"; }
check_bin() { command -v "$1" >/dev/null 2>&1 || need="$need $2"; }

check_hdr ev.h libev-dev
check_hdr curl/curl.h libcurl4-openssl-dev
check_hdr nghttp2/nghttp2.h libnghttp2-dev
check_hdr jansson.h libjansson-dev
check_hdr openssl/ssl.h libssl-dev
check_hdr http_parser.h libhttp-parser-dev
check_hdr wslay/wslay.h libwslay-dev
check_hdr zlib.h zlib1g-dev
check_bin pkg-config pkg-config
check_bin gcc gcc
check_bin make make
check_bin bwrap bubblewrap
check_bin openssl openssl
if [ "${1:-build}" = fuzz ]; then
  check_bin clang clang
  # libFuzzer's runtime: on Debian 12 in libclang-rt-14-dev
  ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1 ||
    need="$need libclang-rt-14-dev"
fi
if [ "${1:-build}" = test ]; then
  check_bin node nodejs
  check_bin npm npm
  check_bin curl curl
  check_bin python3 python3
fi

[ -z "$need" ] && exit 0
echo "deps: missing packages:$need" >&2
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: run as root: apt-get update && apt-get install -y$need" >&2
    exit 1
  fi
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2 || exit 1
$SUDO apt-get install -y -qq --no-install-recommends $need >&2 || exit 1
