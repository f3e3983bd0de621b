#!/bin/sh
# Installs the build tree into a scratch prefix, then builds a consumer against it twice:
# with CMake's find_package(framebus) and with pkg-config; both must run.
set -eu
build=$1 src=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cm" >/dev/null
LD_LIBRARY_PATH=$(dirname "$(find "$tmp/prefix" -name 'libframebus.so.[0-9]*' | head -1)") "$tmp/cm/consumer"
pc=$(dirname "$(find "$tmp/prefix" -name framebus.pc)")
ver=$(PKG_CONFIG_PATH=$pc pkg-config --modversion framebus)
libdir=$(PKG_CONFIG_PATH=$pc pkg-config --variable=libdir framebus)
cc -DFBUS_VERSION_STRING_EXPECTED="\"$ver\"" -o "$tmp/pc-consumer" "$src/consumer.c" \
    $(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs framebus) -Wl,-rpath,"$libdir"
"$tmp/pc-consumer"
echo "install check passed"
