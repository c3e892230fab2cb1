#!/usr/bin/env bash
# f16/bf16 CUDA plans keep their intermediates in that dtype: the planned arena of a 2-byte
# dtype is half the f32 one (within the 64-byte alignment of each buffer), so every buffer,
# concat slice included, is addressed in 2-byte elements. Compile only; no GPU needed.
set -u
SINTER=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
peak() { SINTER_CACHE_DIR="$T/cache" "$SINTER" compile yolov8n --backend cuda --arch sm_90 --imgsz 128 --dtype "$1" --json |
         tr ',{}' '\n\n\n' | sed -n 's/.*"peak_bytes": *\([0-9]*\).*/\1/p'; }
f32=$(peak f32); fails=0
for dt in f16 bf16; do
  p=$(peak $dt)
  if [ -z "$f32" ] || [ -z "$p" ]; then echo "FAIL $dt: no peak_bytes"; fails=$((fails+1)); continue; fi
  # half of f32, give or take the alignment padding of each buffer
  if [ $((p * 2)) -gt $((f32 + 64 * 200)) ] || [ $((p * 2)) -lt $((f32 - 64 * 200)) ]; then
    echo "FAIL $dt: peak $p bytes, f32 $f32 bytes (expected about half)"; fails=$((fails+1))
  else
    echo "ok $dt: peak $p bytes, f32 $f32 bytes"
  fi
done
[ $fails -eq 0 ]
