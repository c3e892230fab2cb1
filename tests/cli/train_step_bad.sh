#!/usr/bin/env bash
# `sinter train-step` on bad input: labels with an out-of-range class, boxes outside [0, 1],
# NaN, wrong column counts, a batch index past the batch; images of the wrong shape or with a
# NaN. Each must give "error:" naming the file (and line for labels), a non-zero exit below 128,
# and leave the output and gradients files untouched. One good run at the end shows the same
# command works and writes both files.
set -u
SINTER=$1
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0

expect_error() { # NAME EXPECTED -- ARGS...
  local name=$1 want=$2; shift 3
  echo keep > "$T/w2.safetensors"; echo keep > "$T/g.safetensors"
  "$SINTER" train-step "$@" >"$T/stdout" 2>"$T/stderr"; local rc=$?
  local ok=1
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then ok=0; echo "FAIL $name: exit $rc"; fi
  if ! grep -q "error" "$T/stderr"; then ok=0; echo "FAIL $name: no 'error' in stderr"; fi
  if [ -n "$want" ] && ! grep -qF -- "$want" "$T/stderr"; then ok=0; echo "FAIL $name: stderr lacks '$want'"; fi
  if grep -q "AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/stderr"; then ok=0; echo "FAIL $name: sanitizer report"; fi
  for f in w2 g; do
    if [ "$(cat "$T/$f.safetensors")" != keep ]; then ok=0; echo "FAIL $name: $f.safetensors was touched"; fi
  done
  if [ $ok = 1 ]; then passes=$((passes+1)); else fails=$((fails+1)); sed 's/^/    /' "$T/stderr" | head -8; fi
}

python3 - "$T" <<'PY'
import sys, struct
d = sys.argv[1]
def npy(path, shape, vals):
    hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % ''.join('%d, ' % s for s in shape)
    hdr = hdr.ljust((len(hdr) + 10 + 63) // 64 * 64 - 10 - 1) + '\n'
    with open(path, 'wb') as f:
        f.write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode())
        f.write(b''.join(struct.pack('<f', v) for v in vals))
n = 2 * 3 * 64 * 64
npy(d + '/x.npy', (2, 3, 64, 64), [((i * 37) % 251) / 251.0 for i in range(n)])
npy(d + '/x_nan.npy', (2, 3, 64, 64), [float('nan') if i == 777 else 0.5 for i in range(n)])
npy(d + '/x_shape.npy', (2, 3, 64, 48), [0.5] * (2 * 3 * 64 * 48))
npy(d + '/x_rank.npy', (3, 64, 64), [0.5] * (3 * 64 * 64))
good = "0 3 0.5 0.5 0.25 0.25\n1 7 0.3 0.6 0.1 0.2\n"
files = {
  'good.txt': good,
  'cls.txt': good + "1 80 0.5 0.5 0.2 0.2\n",
  'neg.txt': good + "1 -1 0.5 0.5 0.2 0.2\n",
  'box.txt': good + "0 1 1.2 0.5 0.2 0.2\n",
  'wh0.txt': good + "0 1 0.5 0.5 0 0.2\n",
  'nan.txt': good + "0 1 nan 0.5 0.2 0.2\n",
  'cols.txt': good + "0 1 0.5 0.5 0.2\n",
  'cols7.txt': good + "0 1 0.5 0.5 0.2 0.2 0.1\n",
  'bidx.txt': good + "2 1 0.5 0.5 0.2 0.2\n",
  'text.txt': good + "0 one 0.5 0.5 0.2 0.2\n",
}
for k, v in files.items():
    open(d + '/' + k, 'w').write(v)
PY
M=yolov8n
common=(--weights random:1 --output "$T/w2.safetensors" --grads "$T/g.safetensors")
expect_error "class 80" "cls.txt:3" -- $M --images "$T/x.npy" --labels "$T/cls.txt" "${common[@]}"
expect_error "class -1" "neg.txt:3" -- $M --images "$T/x.npy" --labels "$T/neg.txt" "${common[@]}"
expect_error "box outside" "box.txt:3" -- $M --images "$T/x.npy" --labels "$T/box.txt" "${common[@]}"
expect_error "zero width" "wh0.txt:3" -- $M --images "$T/x.npy" --labels "$T/wh0.txt" "${common[@]}"
expect_error "NaN label" "nan.txt:3" -- $M --images "$T/x.npy" --labels "$T/nan.txt" "${common[@]}"
expect_error "5 columns" "cols.txt:3" -- $M --images "$T/x.npy" --labels "$T/cols.txt" "${common[@]}"
expect_error "7 columns" "cols7.txt:3" -- $M --images "$T/x.npy" --labels "$T/cols7.txt" "${common[@]}"
expect_error "batch index" "bidx.txt:3" -- $M --images "$T/x.npy" --labels "$T/bidx.txt" "${common[@]}"
expect_error "not a number" "text.txt:3" -- $M --images "$T/x.npy" --labels "$T/text.txt" "${common[@]}"
expect_error "missing labels" "nothere.txt" -- $M --images "$T/x.npy" --labels "$T/nothere.txt" "${common[@]}"
expect_error "NaN image" "x_nan.npy" -- $M --images "$T/x_nan.npy" --labels "$T/good.txt" "${common[@]}"
expect_error "image width" "x_shape.npy" -- $M --images "$T/x_shape.npy" --labels "$T/good.txt" "${common[@]}"
expect_error "image rank" "x_rank.npy" -- $M --images "$T/x_rank.npy" --labels "$T/good.txt" "${common[@]}"
expect_error "bad optimizer" "optimizer" -- $M --images "$T/x.npy" --labels "$T/good.txt" --optimizer Adam "${common[@]}"
expect_error "negative lr" "--lr" -- $M --images "$T/x.npy" --labels "$T/good.txt" --lr -1 "${common[@]}"
expect_error "output = labels" "" -- $M --images "$T/x.npy" --labels "$T/good.txt" --output "$T/good.txt"
expect_error "grads = output" "different files" -- $M --images "$T/x.npy" --labels "$T/good.txt" --output "$T/w2.safetensors" --grads "$T/w2.safetensors"

# a NaN weight makes the loss NaN: the step is named, nothing is written
"$SINTER" weights $M --output "$T/w.safetensors" >/dev/null 2>&1
python3 - "$T/w.safetensors" "$T/wnan.safetensors" <<'PY'
import sys, json, struct
b = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
off = h['model.0.conv.weight']['data_offsets'][0]
b[8 + n + off:8 + n + off + 4] = struct.pack('<f', float('nan'))
open(sys.argv[2], 'wb').write(b)
PY
expect_error "NaN loss" "step 1" -- $M --images "$T/x.npy" --labels "$T/good.txt" --weights "$T/wnan.safetensors" --output "$T/w2.safetensors" --grads "$T/g.safetensors"

# the good run writes both files
rm -f "$T/w2.safetensors" "$T/g.safetensors"
if "$SINTER" train-step $M --images "$T/x.npy" --labels "$T/good.txt" "${common[@]}" >"$T/stdout" 2>"$T/stderr" &&
   [ -s "$T/w2.safetensors" ] && [ -s "$T/g.safetensors" ] && grep -q "step 1/1" "$T/stdout"; then
  passes=$((passes+1))
else
  fails=$((fails+1)); echo "FAIL good run"; cat "$T/stderr" | head
fi
echo "train_step_bad: $passes passed, $fails failed"
[ $fails -eq 0 ]
