#!/usr/bin/env bash
# Installs this build to a temp prefix, builds tests/api/test_api.c as an outside project
# against it (find_package(Sinter)), checks the pkg-config file, and runs it with the
# installed models (SINTER_MODELS) — compiled yolov8n against ref, weights swapped.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/sinter-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/sinter.h"
test -f "$tmp/prefix/lib/cmake/Sinter/SinterConfig.cmake"
test -x "$tmp/prefix/bin/sinter"
ls "$tmp/prefix/share/sinter/models/yolov8.sn" >/dev/null
# the library exports the API and nothing else
if nm -D --defined-only "$tmp"/prefix/lib/libsinter.so | awk '{print $3}' | grep -v '^sn_\(version\|status_str\|session_\|compile$\|exec_\|trainer_\)' | grep -q .; then
  echo "FAIL: libsinter.so exports more than include/sinter.h:"
  nm -D --defined-only "$tmp"/prefix/lib/libsinter.so | awk '{print $3}' | grep -v '^sn_\(version\|status_str\|session_\|compile$\|exec_\)' | head
  exit 1
fi
if command -v pkg-config >/dev/null; then
  flags=$(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs sinter)
  [[ $flags == *"-lsinter"* && $flags == *"/include"* ]] || { echo "FAIL: pkg-config: $flags"; exit 1; }
fi
cmake -S "$src/tests/api/outside" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build" >/dev/null
mkdir -p "$tmp/cache"
SINTER_MODELS="$tmp/prefix/share/sinter/models" "$tmp/build/outside" cpu "$tmp/cache"
