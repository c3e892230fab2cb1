#!/usr/bin/env bash
# `sinter info --json` parameter counts and GFLOPs against Ultralytics' published numbers
# (reference/yolo-spec.md §4): params exact, fused GFLOPs within ±0.1.
set -u
SINTER=$1
fails=0; passes=0
check() { # model params fused_params fused_gflops
  local m=$1 p=$2 fp=$3 gf=$4
  local a b
  a=$("$SINTER" info "$m" --json) || { echo "FAIL $m: info failed"; fails=$((fails+1)); return; }
  b=$("$SINTER" info "$m" --fused --json) || { echo "FAIL $m: info --fused failed"; fails=$((fails+1)); return; }
  python3 - "$m" "$p" "$fp" "$gf" "$a" "$b" <<'PY' && passes=$((passes+1)) || fails=$((fails+1))
import json, sys
m, p, fp, gf, a, b = sys.argv[1:]
a, b = json.loads(a), json.loads(b)
ok = True
if a["parameters"] != int(p): print(f"FAIL {m}: parameters {a['parameters']} != {p}"); ok = False
if fp != "-" and b["parameters"] != int(fp): print(f"FAIL {m}: fused parameters {b['parameters']} != {fp}"); ok = False
if gf != "-" and abs(b["gflops"] - float(gf)) > 0.1: print(f"FAIL {m}: fused GFLOPs {b['gflops']:.3f} vs {gf}"); ok = False
print(f"{'ok  ' if ok else 'FAIL'} {m}: {a['parameters']:,} params, fused {b['parameters']:,}, {b['gflops']:.3f} GFLOPs")
sys.exit(0 if ok else 1)
PY
}
check yolov8n 3157200 3151904 8.7
check yolov8s 11166560 11156544 28.6
check yolov8m 25902640 - -
check yolov8l 43691520 - -
check yolov8x 68229648 - -
check yolo11n 2624080 2616248 6.5
check yolo11s 9458752 9443760 21.5
check yolo11m 20114688 - -
check yolo11l 25372160 - -
check yolo11x 56966176 - -
check yolov5nu 2654816 2649200 7.7
check yolov5su 9153152 9142496 24.0
echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
