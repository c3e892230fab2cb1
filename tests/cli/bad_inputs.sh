#!/usr/bin/env bash
# Every bad input must give "error:" on stderr, a non-zero exit below 128 (no signal, no
# sanitizer abort), and leave an existing output file exactly as it was.
set -u
SINTER=$1; SRC=$(cd "$2" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
py() { python3 - "$@"; }

# expect_error NAME EXPECTED-SUBSTRING -- ARGS...
expect_error() {
  local name=$1 want=$2; shift 3
  echo keep > "$T/out.npy"
  "$SINTER" "$@" >"$T/stdout" 2>"$T/stderr"; local rc=$?
  local ok=1
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then ok=0; echo "FAIL $name: exit $rc"; fi
  if ! grep -q "error" "$T/stderr"; then ok=0; echo "FAIL $name: no 'error' in stderr"; fi
  if [ -n "$want" ] && ! grep -qF -- "$want" "$T/stderr"; then
    ok=0; echo "FAIL $name: stderr lacks '$want'"; fi
  if grep -q "AddressSanitizer\|runtime error:\|LeakSanitizer" "$T/stderr"; then
    ok=0; echo "FAIL $name: sanitizer report"; fi
  if [ "$(cat "$T/out.npy")" != keep ]; then ok=0; echo "FAIL $name: output file was touched"; fi
  if grep -q $'\e' "$T/stderr"; then ok=0; echo "FAIL $name: a raw escape character reached stderr"; fi
  if [ $ok = 1 ]; then passes=$((passes+1)); else fails=$((fails+1)); sed 's/^/    /' "$T/stderr" | head -8; fi
}

# A valid small input and valid weights to vary one thing at a time.
py "$T" "$SRC" <<'PY'
import sys, struct, json
d = sys.argv[1]
def npy(path, shape, descr='<f4', data=None, truncate=0, fortran=False):
    n = 1
    for s in shape: n *= s
    itemsize = 4 if descr.endswith('4') else 2
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        descr, 'True' if fortran else 'False', ''.join('%d, ' % s for s in shape))
    hdr = hdr.ljust((len(hdr) + 10 + 63) // 64 * 64 - 10 - 1) + '\n'
    body = bytes((i * 37) % 251 for i in range(min(n * itemsize, 1 << 24)))
    if descr == '<f4':
        body = b''.join(struct.pack('<f', ((i * 37) % 251) / 251.0) for i in range(n))
    raw = b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + body
    if truncate: raw = raw[:-truncate]
    open(path, 'wb').write(raw)
npy(d + '/x64.npy', (1, 3, 64, 64))
npy(d + '/trunc.npy', (1, 3, 64, 64), truncate=100)
npy(d + '/chw.npy', (3, 64, 64))
npy(d + '/odd.npy', (1, 3, 100, 100))
npy(d + '/c4.npy', (1, 4, 64, 64))
npy(d + '/f64.npy', (1, 3, 64, 64), descr='<f8')
npy(d + '/fortran.npy', (1, 3, 64, 64), fortran=True)
open(d + '/garbage.npy', 'wb').write(b'this is not a numpy file at all' * 10)
open(d + '/empty.npy', 'wb').write(b'')
def st(path, tensors, hdr_override=None, truncate=0):
    hdr, body = {}, b''
    for name, shape, dtype in tensors:
        n = 1
        for s in shape: n *= s
        size = n * (4 if dtype == 'F32' else 2 if dtype in ('F16', 'BF16') else 8)
        hdr[name] = {'dtype': dtype, 'shape': list(shape), 'data_offsets': [len(body), len(body) + size]}
        body += b'\0' * size
    h = json.dumps(hdr).encode() if hdr_override is None else hdr_override
    raw = struct.pack('<Q', len(h)) + h + body
    if truncate: raw = raw[:-truncate]
    open(path, 'wb').write(raw)
st(d + '/other.safetensors', [('model.0.conv.weight', (8, 3, 3, 3), 'F32'), ('foo.bar', (2,), 'F32')])
st(d + '/trunc.safetensors', [('model.0.conv.weight', (16, 3, 3, 3), 'F32')], truncate=64)
st(d + '/badjson.safetensors', [], hdr_override=b'{"model.0.conv.weight": {"dtype": "F32", "shape": [16,3')
st(d + '/hugelen.safetensors', [], hdr_override=b'{}')
raw = bytearray(open(d + '/hugelen.safetensors', 'rb').read()); raw[0:8] = struct.pack('<Q', 1 << 62)
open(d + '/hugelen.safetensors', 'wb').write(raw)
open(d + '/garbage.safetensors', 'wb').write(b'\x07' * 37)
npy(d + '/b0.npy', (0, 3, 32, 32))
npy(d + '/b0big.npy', (0, 3, 640, 640))
npy(d + '/b5000.npy', (5000, 3, 32, 32))
def nonfinite(path, value):
    raw = bytearray(open(d + '/x64.npy', 'rb').read())
    off = len(raw) - 4 * (3 * 64 * 64) + 4 * (64 * 64 + 5 * 64 + 7)
    raw[off:off + 4] = struct.pack('<f', value)
    open(path, 'wb').write(bytes(raw))
nonfinite(d + '/xnan.npy', float('nan'))
nonfinite(d + '/xinf.npy', float('inf'))
open(d + '/big.sn', 'w').write('use "%s/models/blocks.sn"\nmodel big {\n    nc = 80\n    scales { n = [1.0, 1.0, 16777216] }\n    layers {\n        0: -1 1 Conv(16777216, 3, 2)\n        1: -1 1 Conv(64, 3, 2)\n        2: -1 1 Conv(64, 3, 2)\n        3: -1 1 Conv(64, 3, 2)\n        4: -1 1 Conv(64, 3, 2)\n        5: [2, 3, 4] 1 Detect(nc)\n    }\n}\n' % sys.argv[2])
open(d + '/bad.sn', 'w').write('model broken {\n    nc = 80\n    layers {\n        0: -1 1 Conv(64, 3, 2\n    }\n}\n')
open(d + '/unknown.sn', 'w').write('model unknown {\n    nc = 80\n    scales { n = [0.33, 0.25, 1024] }\n    layers {\n        0: -1 1 NoSuchBlock(64)\n    }\n}\n')
PY

R="run yolov8n --output $T/out.npy"
expect_error missing-model "nosuch.sn" -- run "$T/nosuch.sn" --input "$T/x64.npy" --output "$T/out.npy"
expect_error unknown-zoo "yolov9q" -- run yolov9q --input "$T/x64.npy" --output "$T/out.npy"
expect_error syntax-error "bad.sn:" -- run "$T/bad.sn" --input "$T/x64.npy" --output "$T/out.npy"
expect_error unknown-block "NoSuchBlock" -- run "$T/unknown.sn" --input "$T/x64.npy" --output "$T/out.npy"
expect_error missing-input "nosuch.npy" -- $R --input "$T/nosuch.npy"
expect_error truncated-npy "trunc.npy" -- $R --input "$T/trunc.npy"
expect_error garbage-npy "garbage.npy" -- $R --input "$T/garbage.npy"
expect_error empty-npy "empty.npy" -- $R --input "$T/empty.npy"
expect_error rank3-npy "chw.npy" -- $R --input "$T/chw.npy"
expect_error size-not-32 "multiples of 32" -- $R --input "$T/odd.npy"
expect_error four-channels "c4.npy" -- $R --input "$T/c4.npy"
expect_error float64-npy "f64.npy" -- $R --input "$T/f64.npy"
expect_error fortran-npy "fortran.npy" -- $R --input "$T/fortran.npy"
expect_error missing-weights "nosuch.safetensors" -- $R --input "$T/x64.npy" --weights "$T/nosuch.safetensors"
expect_error other-weights "model.0.conv.weight" -- $R --input "$T/x64.npy" --weights "$T/other.safetensors"
expect_error truncated-weights "trunc.safetensors" -- $R --input "$T/x64.npy" --weights "$T/trunc.safetensors"
expect_error badjson-weights "badjson.safetensors" -- $R --input "$T/x64.npy" --weights "$T/badjson.safetensors"
expect_error hugelen-weights "hugelen.safetensors" -- $R --input "$T/x64.npy" --weights "$T/hugelen.safetensors"
expect_error garbage-weights "garbage.safetensors" -- $R --input "$T/x64.npy" --weights "$T/garbage.safetensors"
expect_error bad-backend "--backend" -- $R --input "$T/x64.npy" --backend tpu
expect_error bad-option "--frobnicate" -- $R --input "$T/x64.npy" --frobnicate
expect_error bad-imgsz "--imgsz" -- info yolov8n --imgsz 100
expect_error bad-nc "--nc" -- info yolov8n --nc zero
expect_error out-dir-missing "" -- run yolov8n --input "$T/x64.npy" --output "$T/no/such/dir/out.npy"
# Batch 0 read past the heap (ASan) and wrote garbage; every backend must refuse it.
for be in ref cpu; do
  expect_error batch0-$be "holds no image" -- $R --input "$T/b0.npy" --backend $be
done
expect_error batch0-640 "holds no image" -- $R --input "$T/b0big.npy" --backend cpu
expect_error batch-over-limit "batch 5000" -- $R --input "$T/b5000.npy" --backend ref
# A repeated option is refused, not "the last one wins".
expect_error repeated-backend "--backend given twice" -- $R --input "$T/x64.npy" --backend ref --backend cpu
expect_error repeated-weights "--weights given twice" -- $R --input "$T/x64.npy" --weights random:1 --weights random:2
# Models that cannot fit are refused from their shapes, at once, naming the largest layer.
for cmd in compile run weights bench; do
  args="--input $T/x64.npy --output $T/out.npy"
  [ $cmd = compile ] || [ $cmd = bench ] && args=""
  [ $cmd = weights ] && args="--output $T/out.npy"
  start=$(date +%s%N)
  expect_error huge-model-$cmd "largest layer is batchnorm model.0.bn" -- $cmd "$T/big.sn" $args
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ $ms -gt 1000 ]; then echo "FAIL huge-model-$cmd: refused after $ms ms"; fails=$((fails+1)); fi
done
expect_error huge-batch-imgsz "needs at least" -- compile yolov8n --imgsz 16384 --batch 4096
SINTER_MEMORY_LIMIT=1M expect_error memory-limit-env "SINTER_MEMORY_LIMIT" -- compile yolov8n --imgsz 64
SINTER_MEMORY_LIMIT=lots expect_error memory-limit-bad "SINTER_MEMORY_LIMIT='lots'" -- compile yolov8n --imgsz 64
# --check-finite names what brought in or produced the first NaN/Inf.
expect_error check-finite-nan-input "the input $T/xnan.npy [1,3,64,64] holds 1 NaN" -- $R --input "$T/xnan.npy" --check-finite
expect_error check-finite-inf-input "holds 0 NaN and 1 Inf" -- $R --input "$T/xinf.npy" --backend cpu --check-finite
# User text echoed in a message is escaped: a terminal never receives a raw control character.
expect_error escaped-option 'unknown option '"'"'--frob\x1b[2J'"'" -- $R --input "$T/x64.npy" $'--frob\e[2J'
expect_error escaped-input-path 'no\x1b]0;title\x07such.npy' -- $R --input "$T/"$'no\e]0;title\asuch.npy'
expect_error escaped-command "unknown command 'ru\x1b[1mn'" -- $'ru\e[1mn' yolov8n
# Weights of another model: yolo11n's real weights into yolov8n.
if "$SINTER" weights yolo11n --output "$T/y11.safetensors" 2>"$T/stderr"; then
  expect_error yolo11-weights-into-v8 "model.2.m.0.cv1.conv.weight" -- $R --input "$T/x64.npy" --weights "$T/y11.safetensors"
else
  echo "FAIL: sinter weights yolo11n failed"; cat "$T/stderr"; fails=$((fails+1))
fi
# Tensor-file corpus shipped with the tests (tests/bad/tensors): every file must be refused.
for f in "$SRC"/tests/bad/tensors/*.safetensors; do
  [ -e "$f" ] || continue
  expect_error "corpus-$(basename "$f")" "$(basename "$f")" -- $R --input "$T/x64.npy" --weights "$f"
done
for f in "$SRC"/tests/bad/tensors/*.npy; do
  [ -e "$f" ] || continue
  expect_error "corpus-$(basename "$f")" "$(basename "$f")" -- $R --input "$f"
done
# Model-language corpus (tests/lang/bad): every file must be refused with file:line:col.
# Each file's "# expect:" line holds the diagnostic's start; "# scale:" an option.
for f in "$SRC"/tests/lang/bad/*.sn; do
  [ -e "$f" ] || continue
  want=$(sed -n 's/^# expect: *//p' "$f" | head -1 | cut -d' ' -f1-2)
  [ -n "$want" ] || want="$(basename "$f"):"
  scale=$(sed -n 's/^# scale: *//p' "$f" | head -1)
  expect_error "corpus-$(basename "$f")" "$want" -- run "$f" ${scale:+--scale "$scale"} --input "$T/x64.npy" --output "$T/out.npy"
done

# A negative BatchNorm running_var: check-finite names the batchnorm that produced the NaN.
if "$SINTER" weights yolov8n --output "$T/w.safetensors" 2>"$T/stderr"; then
  py "$T" <<'PY'
import sys, struct, json
d = sys.argv[1]
raw = open(d + '/w.safetensors', 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
h = json.loads(raw[8:8 + n])
a, b = h['model.2.cv1.bn.running_var']['data_offsets']
body = bytearray(raw[8 + n:])
body[a + 12:a + 16] = struct.pack('<f', -1.0)
open(d + '/wneg.safetensors', 'wb').write(raw[:8 + n] + bytes(body))
PY
  expect_error check-finite-negative-var "batchnorm model.2.cv1.bn" -- $R --input "$T/x64.npy" --weights "$T/wneg.safetensors" --check-finite
else
  echo "FAIL: sinter weights yolov8n failed"; cat "$T/stderr"; fails=$((fails+1))
fi
# Without --check-finite a non-finite output is written, with a warning (ref: NaN propagates).
if "$SINTER" run yolov8n --input "$T/xnan.npy" --output "$T/nan.npy" --backend ref 2>"$T/stderr" &&
   grep -q "warning: the output holds 7056 NaN" "$T/stderr"; then
  passes=$((passes+1))
else
  echo "FAIL nan-output-warning"; cat "$T/stderr"; fails=$((fails+1))
fi

# A good run writes the output.
rm -f "$T/good.npy"
if "$SINTER" run yolov8n --input "$T/x64.npy" --output "$T/good.npy" --backend ref 2>"$T/stderr" && [ -s "$T/good.npy" ]; then
  passes=$((passes+1))
else
  echo "FAIL good-run"; cat "$T/stderr"; fails=$((fails+1))
fi
echo "$((passes + fails)) cases: $passes passed, $fails failed"
[ $fails -eq 0 ]
