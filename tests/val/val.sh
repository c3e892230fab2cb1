#!/usr/bin/env bash
# `sinter val` end to end on a synthetic dataset (make_dataset.py: drawn shapes with exact
# labels, seven image sizes, label files missing and empty), without the oracle venv:
#  - random weights: a clean low figure (finite, in [0, 1]), the table on stdout, metrics.json,
#    the PNG plots, --json as one document, --save-json as COCO predictions; a txt image list;
#  - images and labels mismatched: label files without an image and images without labels are
#    reported; a broken image is counted, the rest still run, exit 1;
#  - detections equal to the labels (val_metrics_tool fed the dataset's own labels): every AP is
#    Ultralytics' highest, 0.995 (its 101-point interpolation ends on the sentinel precision 0),
#    P = R = 1.
set -u
SINTER=$1; SRC=$2; TOOL=$3
. "$SRC/tests/common/harness.sh"
python3 "$SRC/tests/val/make_dataset.py" "$T/ds" --images 12 || { echo "FAIL make_dataset"; exit 1; }
run() { "$SINTER" val yolov8n --weights random:1 --data "$T/ds/data.yaml" --imgsz 64 --batch 4 --project "$T/runs" "$@"; }
if run >"$T/out" 2>"$T/err"; then ok; else bad "val (random weights)"; cat "$T/err"; fi
grep -q "Class *Images *Instances *Box(P *R *mAP50 *mAP50-95)" "$T/out" && ok || bad "table header on stdout"
python3 - "$T/out" <<'PY' && ok || bad "the all row: 12 images, numbers in [0, 1]"
import math, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split()[:1] == ["all"]]
assert len(rows) == 1 and rows[0][1] == "12", rows
v = [float(x) for x in rows[0][3:]]
assert len(v) == 4 and all(math.isfinite(x) and 0 <= x <= 1 for x in v), v
PY
grep -q "backgrounds" "$T/err" && ok || bad "scan line"
for f in metrics.json BoxPR_curve.png BoxF1_curve.png confusion_matrix.png confusion_matrix_normalized.png; do
  [ -s "$T/runs/exp/$f" ] && ok || bad "no $f"
done
head -c 4 "$T/runs/exp/BoxPR_curve.png" | od -An -tx1 | grep -q "89 50 4e 47" && ok || bad "BoxPR_curve.png is not a PNG"
# --json: one document on stdout; --save-json: COCO predictions
if run --json --save-json --no-plots >"$T/j.json" 2>"$T/err"; then ok; else bad "val --json"; cat "$T/err"; fi
python3 - "$T/j.json" "$T/runs/exp2/predictions.json" <<'PY' && ok || bad "--json document / predictions.json"
import json, math, sys
d = json.load(open(sys.argv[1]))
for k in ("mAP50", "mAP50-95", "precision", "recall", "fitness"):
    assert math.isfinite(d[k]) and 0 <= d[k] <= 1, (k, d[k])
assert d["images"] == 12 and len(d["classes"]) == 3, d
assert all(c["name"].startswith("shape") for c in d["classes"])
p = json.load(open(sys.argv[2]))
assert isinstance(p, list) and p, "no predictions"
for q in p[:50]:
    assert set(q) == {"image_id", "file_name", "category_id", "bbox", "score"} and len(q["bbox"]) == 4
    assert 1 <= q["category_id"] <= 3 and 0 < q["score"] <= 1
PY
[ ! -e "$T/runs/exp2/BoxPR_curve.png" ] && ok || bad "--no-plots wrote plots"
# a txt list of images ("./" relative to the list) as the split
ls "$T/ds/images/val" | head -5 | sed 's|^|./images/val/|' >"$T/ds/five.txt"
printf 'path: %s\nval: five.txt\nnames: [a, b, c]\n' "$T/ds" >"$T/ds/list.yaml"
if "$SINTER" val yolov8n --weights random:1 --data "$T/ds/list.yaml" --imgsz 64 --project "$T/runs" --no-plots >"$T/out" 2>"$T/err"; then ok; else bad "txt list"; cat "$T/err"; fi
grep -qE "^ +all +5 " "$T/out" && ok || bad "txt list: 5 images"
# mismatch: a label file without an image; a broken image among the others
echo "0 0.5 0.5 0.2 0.2" >"$T/ds/labels/val/zz_orphan.txt"
cp "$SRC/tests/tensorio/data/images/header_only.jpg" "$T/ds/images/val/im999.jpg"
run --no-plots >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && ok || bad "a broken image: exit $rc, not 1"
grep -q "1 of 13 images could not be read" "$T/err" && ok || bad "broken image counted"; 
grep -q "1 label files without an image" "$T/err" && ok || bad "orphan label file reported"
grep -q "3 backgrounds" "$T/err" && ok || bad "images without labels reported"
grep -qE "^ +all +12 " "$T/out" && ok || bad "the other 12 images still ran"
# exact predictions: the labels themselves as detections → Ultralytics' highest AP, 0.995
python3 - "$T/ds/labels/val" "$T/exact.txt" <<'PY'
import os, random, sys
rnd = random.Random(0)
with open(sys.argv[2], "w") as f:
    f.write("nc 3\n")
    for name in sorted(os.listdir(sys.argv[1])):
        if name.startswith("zz"):
            continue
        f.write("image\n")
        rows = [list(map(float, l.split())) for l in open(os.path.join(sys.argv[1], name)) if l.strip()]
        for c, x, y, w, h in rows:
            f.write("l %d %.4f %.4f %.4f %.4f\n" % (c, 1000 * (x - w / 2), 1000 * (y - h / 2), 1000 * (x + w / 2), 1000 * (y + h / 2)))
        dets = [(rnd.uniform(0.3, 1), r) for r in rows]
        for s, (c, x, y, w, h) in sorted(dets, key=lambda d: -d[0]):
            f.write("d %.4f %.4f %.4f %.4f %.6f %d\n" % (1000 * (x - w / 2), 1000 * (y - h / 2), 1000 * (x + w / 2), 1000 * (y + h / 2), s, c))
PY
"$TOOL" "$T/exact.txt" >"$T/exact.json" && ok || bad "val_metrics_tool"
python3 - "$T/exact.json" <<'PY' && ok || bad "exact predictions: mAP50-95 0.995, P = R = 1"
import json, sys
d = json.load(open(sys.argv[1]))
assert abs(d["map"] - 0.995) < 1e-12 and abs(d["map50"] - 0.995) < 1e-12, d
assert abs(d["mp"] - 1) < 1e-12 and abs(d["mr"] - 1) < 1e-9, d
PY
echo "val: $passes passed, $fails failed"
[ $fails -eq 0 ]
