#!/usr/bin/env bash
# `sinter val` on bad input: a clear message naming the file (and key, or file:line) and a
# non-zero exit, never a crash — a missing or unreadable data.yaml, YAML syntax errors, keys
# missing (names/nc, the split), names and nc that disagree, a split folder that does not exist,
# label rows with the wrong number of columns, classes >= nc, coordinates out of range, bad
# options.
set -u
SINTER=$1; SRC=$2
. "$SRC/tests/common/harness.sh"
python3 "$SRC/tests/val/make_dataset.py" "$T/ds" --images 6 || { echo "FAIL make_dataset"; exit 1; }
expect_error() { # NAME WANT ARGS...   (several WANTs separated by |: each must appear)
  local name=$1 want=$2; shift 2
  "$SINTER" val "$@" >/dev/null 2>"$T/e"; local rc=$?
  local all=1 w
  IFS='|' read -ra ws <<<"$want"
  for w in "${ws[@]}"; do grep -qF -- "$w" "$T/e" || all=0; done
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && grep -q "error" "$T/e" && [ $all -eq 1 ]; then ok
  else bad "$name (exit $rc)"; sed 's/^/    /' "$T/e" | head -4; fi
}
v() { expect_error "$1" "$2" yolov8n --weights random:1 --imgsz 64 --project "$T/runs" --no-plots --data "${@:3}"; }
yaml() { printf "$2" "$T/ds" >"$T/$1.yaml"; }
v "no data.yaml" "nothere.yaml" "$T/nothere.yaml"
yaml nonames 'path: %s\nval: images/val\n'
v "names and nc missing" "nonames.yaml|names|nc" "$T/nonames.yaml"
yaml noval 'path: %s\ntrain: images/val\nnames: [a, b, c]\n'
v "split key missing" "noval.yaml|'val'" "$T/noval.yaml"
v "--split test missing" "'test'" "$T/noval.yaml" --split test
v "--split bogus" "bogus" "$T/ds/data.yaml" --split bogus
yaml syntax 'path: %s\nval: [images/val\nnames: {0: a\n'
v "YAML syntax error" "syntax.yaml:" "$T/syntax.yaml"
yaml mismatch 'path: %s\nval: images/val\nnc: 4\nnames: [a, b, c]\n'
v "names and nc disagree" "mismatch.yaml|must match" "$T/mismatch.yaml"
yaml badnc 'path: %s\nval: images/val\nnc: three\n'
v "nc not an integer" "badnc.yaml|nc" "$T/badnc.yaml"
yaml nodir 'path: %s\nval: images/nothere\nnames: [a, b, c]\n'
v "split folder missing" "images/nothere|does not exist" "$T/nodir.yaml"
yaml listfile 'path: %s\nval: [images/val, nothere.txt]\nnames: [a, b, c]\n'
v "a list with a missing source" "nothere.txt" "$T/listfile.yaml"
mkdir -p "$T/ds/images/empty"
yaml empty 'path: %s\nval: images/empty\nnames: [a, b, c]\n'
v "no images" "no images" "$T/empty.yaml"
# label files: wrong column counts, class >= nc, coordinates out of range (file:line)
L="$T/ds/labels/val/im000.txt"; cp "$L" "$T/keep.txt"
printf '0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2\n' >"$L"
v "4 columns" "im000.txt:2:|4 numbers" "$T/ds/data.yaml"
printf '0 0.5 0.5 0.2 0.2 0.9\n' >"$L"
v "6 columns" "im000.txt:1:|6 numbers" "$T/ds/data.yaml"
printf '3 0.5 0.5 0.2 0.2\n' >"$L"
v "class >= nc" "im000.txt:1:|[0, 3)" "$T/ds/data.yaml"
printf '1.5 0.5 0.5 0.2 0.2\n' >"$L"
v "class not an integer" "im000.txt:1:|class" "$T/ds/data.yaml"
printf '0 0.5 1.3 0.2 0.2\n' >"$L"
v "coordinate > 1.01" "im000.txt:1:|cy" "$T/ds/data.yaml"
printf '0 0.5 0.5 -0.2 0.2\n' >"$L"
v "negative size" "im000.txt:1:|w is negative" "$T/ds/data.yaml"
printf '0 0.5 0.5 0.2 x\n' >"$L"
v "not a number" "im000.txt:1:|column 5" "$T/ds/data.yaml"
cp "$T/keep.txt" "$L"
# options
expect_error "no --data" "--data" yolov8n
expect_error "--imgsz 100" "multiples of 32" yolov8n --data "$T/ds/data.yaml" --imgsz 100
expect_error "--imgsz HxW" "one size" yolov8n --data "$T/ds/data.yaml" --imgsz 64x96
expect_error "--conf 2" "--conf" yolov8n --data "$T/ds/data.yaml" --conf 2
expect_error "--batch 100" "--batch" yolov8n --data "$T/ds/data.yaml" --batch 100
expect_error "missing .pt" "nothere.pt" "$T/nothere.pt" --data "$T/ds/data.yaml"
[ ! -d "$T/runs" ] && ok || bad "a failed run left a run folder"
echo "val bad input: $passes passed, $fails failed"
[ $fails -eq 0 ]
