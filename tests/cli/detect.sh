#!/usr/bin/env bash
# `sinter detect` end to end on a folder of images (JPEG, PNG; the io fixtures): annotated
# images and labels land in PROJECT/NAME, a second run goes to NAME2, --save-txt writes one
# label row per detection (as many as --json prints), --nosave writes no images; bad input (no
# images, a broken image, --conf 2, a missing .pt) is a clear error with a non-zero exit.
# (The pieces are checked against Ultralytics by parity_image and parity_nms.)
set -u
SINTER=$1; SRC=$2
. "$SRC/tests/common/harness.sh"
mkdir -p "$T/img"
for f in rb16x8.jpg rb16x8_prog.jpg gray8x8.jpg px3x2.png px3x2_o3.png; do
  cp "$SRC/tests/tensorio/data/images/$f" "$T/img/" || bad "fixture $f"
done
run() { "$SINTER" detect yolov8n --weights random:3 --imgsz 64 --conf 0.001 --project "$T/runs" "$@"; }
if run --source "$T/img" --save-txt --json >"$T/out.json" 2>"$T/err"; then ok; else bad "detect"; cat "$T/err"; fi
for f in rb16x8.jpg rb16x8_prog.jpg gray8x8.jpg px3x2.png px3x2_o3.png; do
  [ -s "$T/runs/exp/$f" ] && ok || bad "no annotated $f"
done
head -c 3 "$T/runs/exp/rb16x8.jpg" | od -An -tx1 | grep -q "ff d8 ff" && ok || bad "exp/rb16x8.jpg is not a JPEG"
head -c 4 "$T/runs/exp/px3x2.png" | od -An -tx1 | grep -q "89 50 4e 47" && ok || bad "exp/px3x2.png is not a PNG"
# --json: one document on stdout, per image its path and detections (xyxy, conf, cls, name)
nj=$(python3 - "$T/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == 5, "5 images"
n = 0
for im in d:
    assert im["path"].endswith((".jpg", ".png")), im["path"]
    for det in im["detections"]:
        assert len(det["xyxy"]) == 4 and 0 <= det["conf"] <= 1 and det["cls"] >= 0 and det["name"]
        n += 1
print(n)
PY
) || bad "JSON document"
nl=$(cat "$T/runs/exp/labels/"*.txt | wc -l)
[ -n "$nj" ] && [ "$nj" -gt 0 ] && [ "$nj" = "$nl" ] && ok || bad "JSON $nj detections, labels $nl rows"
grep -q "Results saved to" "$T/err" && grep -q "image 5/5" "$T/err" && ok || bad "progress lines"
if run --source "$T/img/rb16x8.jpg" --nosave --save-txt >/dev/null 2>"$T/err2"; then ok; else bad "second run"; fi
[ -d "$T/runs/exp2/labels" ] && [ ! -e "$T/runs/exp2/rb16x8.jpg" ] && ok || bad "exp2 (nosave: labels, no image)"
expect_error() { # NAME WANT ARGS...
  local name=$1 want=$2; shift 2
  "$SINTER" detect "$@" >/dev/null 2>"$T/e"; local rc=$?
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "error" "$T/e" && grep -qF -- "$want" "$T/e"; then ok
  else bad "$name (exit $rc)"; sed 's/^/    /' "$T/e" | head -3; fi
}
mkdir -p "$T/empty"
cp "$SRC/tests/tensorio/data/images/header_only.jpg" "$T/broken.jpg"
expect_error "no images" "no images" yolov8n --source "$T/empty" --imgsz 64
expect_error "broken image" "broken.jpg" yolov8n --source "$T/broken.jpg" --imgsz 64 --project "$T/runs"
mkdir -p "$T/mixed"; cp "$T/img/rb16x8.jpg" "$T/img/px3x2.png" "$T/broken.jpg" "$T/mixed/"
expect_error "one broken image of three" "1 of 3 images" yolov8n --source "$T/mixed" --imgsz 64 --project "$T/runs"
[ -s "$T/runs/exp4/rb16x8.jpg" ] && [ -s "$T/runs/exp4/px3x2.png" ] && ok || bad "the other images still ran (exp4)"
expect_error "conf 2" "--conf" yolov8n --source "$T/img" --conf 2
expect_error "missing .pt" "nothere.pt" "$T/nothere.pt" --source "$T/img"
echo "detect: $passes passed, $fails failed"
[ $fails -eq 0 ]
