#!/usr/bin/env bash
# `sinter detect` end to end on a folder of images (JPEG, PNG; the io fixtures): annotated
# images and labels land in PROJECT/NAME, a second run goes to NAME2, --save-txt writes one
# label row per detection (as many as --json prints), --nosave writes no images; bad input (no
# images, a broken image, --conf 2, a missing .pt) is a clear error with a non-zero exit.
# Decoding ahead and writing behind inference (--workers 2, 1) print and write exactly what the
# one-thread path (--workers 0) does, broken images included; a terminal gets a progress bar
# under the per-image lines, a pipe none, nor a terminal that --json prints to.
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
# the pipeline: the same --json, log lines (timings aside), labels and images with 0, 1 and 2
# helper threads, over more batches than it has slots, a broken image among them
mkdir -p "$T/many"
for i in 1 2 3; do for f in rb16x8.jpg gray8x8.jpg px3x2.png px3x2_o3.png; do
  cp "$T/img/$f" "$T/many/$i$f"; done; done
cp "$T/broken.jpg" "$T/many/2broken.jpg"
for bt in 1 3; do
  for w in 0 1 2; do
    "$SINTER" detect yolov8n --weights random:3 --imgsz 64 --conf 0.001 --source "$T/many" \
      --batch $bt --workers $w --save-txt --json --project "$T/pipe" --name b${bt}w$w \
      >"$T/p$bt$w.json" 2>"$T/p$bt$w.err"
    echo $? >"$T/p$bt$w.rc"
    sed -E 's/[0-9.]+ms/Tms/g; s/b[0-9]w[0-9]/NAME/' "$T/p$bt$w.err" >"$T/p$bt$w.log"
  done
  for w in 1 2; do
    cmp -s "$T/p${bt}0.json" "$T/p$bt$w.json" && cmp -s "$T/p${bt}0.log" "$T/p$bt$w.log" &&
      cmp -s "$T/p${bt}0.rc" "$T/p$bt$w.rc" &&
      diff -r "$T/pipe/b${bt}w0" "$T/pipe/b${bt}w$w" >/dev/null && ok ||
      { bad "batch $bt: --workers $w differs from --workers 0"; diff "$T/p${bt}0.log" "$T/p$bt$w.log" | head -5; }
  done
  [ "$(cat "$T/p${bt}0.rc")" = 1 ] && grep -q "1 of 13 images" "$T/p${bt}0.err" &&
    grep -q '"error"' "$T/p${bt}0.json" && [ "$(grep -c '"path"' "$T/p${bt}0.json")" = 13 ] && ok ||
    bad "batch $bt: the broken image counted, the 12 others reported"
done
"$SINTER" detect yolov8n --source "$T/img" --workers 3 >/dev/null 2>"$T/e" ; [ $? = 2 ] && grep -q -- "--workers" "$T/e" && ok || bad "--workers 3 refused"
# the bar: on a terminal (script(1) gives one) below the per-image lines; none in a pipe
if command -v script >/dev/null; then
  SHELL=/bin/sh script -qec "\"$SINTER\" detect yolov8n --weights random:3 --imgsz 64 --source \"$T/img\" --nosave --json >/dev/null" "$T/tty.log" >/dev/null 2>&1
  grep -q "detect: 100% |####################| 5/5" "$T/tty.log" && grep -q "image 5/5" "$T/tty.log" && ok || { bad "no bar on a terminal"; head -c 600 "$T/tty.log"; }
  SHELL=/bin/sh script -qec "\"$SINTER\" detect yolov8n --weights random:3 --imgsz 64 --source \"$T/img\" --nosave --json" "$T/tty2.log" >/dev/null 2>&1
  grep -q '"path"' "$T/tty2.log" && ! grep -q "|##" "$T/tty2.log" && ok || bad "a bar over --json on the same terminal"
fi
grep -q "|##" "$T/p10.err" && bad "a bar in a pipe" || ok
echo "detect: $passes passed, $fails failed"
[ $fails -eq 0 ]
