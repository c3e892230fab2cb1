#!/usr/bin/env bash
# Files that are not what they seem: an --output that is one of the inputs is refused and the
# input left exactly as it was; /dev/null and FIFOs as outputs are written in place; FIFOs and
# /dev/zero as inputs are refused at once; long output names work; a killed writer's temp is
# cleaned up; tensor names holding ESC reach the terminal escaped. With --dump-full-disk:
# `compile --dump` on a full tmpfs fails with a message (exit 77 where none can be mounted).
set -u
SINTER=$1; SRC=$2; MODE=${3:-}
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0; tried=0
pass() { passes=$((passes+1)); }
fail() { fails=$((fails+1)); echo "FAIL $1"; [ -f "$T/stderr" ] && sed 's/^/    /' "$T/stderr" | head -5; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# A small valid input (1,3,64,64) and weights, written without numpy.
python3 - "$T" <<'PY'
import sys, struct
d = sys.argv[1]
n = 3 * 64 * 64
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 64, 64), }"
hdr = hdr.ljust((len(hdr) + 10 + 63) // 64 * 64 - 10 - 1) + '\n'
body = b''.join(struct.pack('<f', ((i * 37) % 251) / 251.0) for i in range(n))
open(d + '/x.npy', 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + body)
# one tensor whose name holds ESC and an unsupported dtype, so the error names it
h = b'{"evil\\u001b[31mred":{"dtype":"I8","shape":[1],"data_offsets":[0,1]}}'
open(d + '/esc.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + b'\0')
PY
"$SINTER" weights yolov8n --output "$T/w.safetensors" 2>"$T/stderr" || fail "setup: weights"
cp "$SRC/models/yolov8.sn" "$SRC/models/blocks.sn" "$T/"
R="run yolov8n --backend ref"

if [ "$MODE" = --dump-full-disk ]; then
  # 64k: the IR dumps fail; 600k: they fit and the kernel sources fail.
  wrap="unshare -m"; [ "$(id -u)" = 0 ] || wrap="unshare -rm"
  if ! $wrap sh -c 'mount -t tmpfs -o size=64k tmpfs "$1"' sh "$T" 2>/dev/null; then
    echo "SKIP: cannot mount a tmpfs here"; exit 77
  fi
  for size in 64k 600k; do
    tried=$((tried+1))
    $wrap sh -c 'mount -t tmpfs -o size="$2" tmpfs "$1" && shift 2 && exec "$@"' sh "$T" "$size" \
      "$SINTER" compile yolov8n --backend cuda --imgsz 64 --dump "$T/d" >/dev/null 2>"$T/stderr"
    rc=$?
    if [ $rc -eq 1 ] && grep -q "error: --dump: .*$T/d/.*No space left on device" "$T/stderr"; then
      pass; else fail "dump-full-disk-$size (exit $rc)"; fi
  done
  echo "$tried cases tried: $passes passed, $fails failed"
  [ $fails -eq 0 ]; exit
fi

# expect_untouched NAME FILE WANT -- ARGS: refused (exit 1, WANT on stderr), FILE unchanged
expect_untouched() {
  local name=$1 file=$2 want=$3; shift 4
  tried=$((tried+1))
  local sum before; sum=$(cksum <"$file"); before=$(stat -c %Y.%y "$file")
  sleep 0.01
  "$SINTER" "$@" >/dev/null 2>"$T/stderr"; local rc=$?
  if [ $rc -eq 1 ] && grep -qF -- "$want" "$T/stderr" && [ "$(cksum <"$file")" = "$sum" ] &&
     [ "$(stat -c %Y.%y "$file")" = "$before" ]; then pass; else fail "$name (exit $rc)"; fi
}
same="is the same file as the input"
expect_untouched out-is-input "$T/x.npy" "$same" -- $R --input "$T/x.npy" --output "$T/x.npy"
expect_untouched out-is-weights "$T/w.safetensors" "$same" -- \
  $R --input "$T/x.npy" --weights "$T/w.safetensors" --output "$T/w.safetensors"
expect_untouched out-is-model "$T/yolov8.sn" "$same" -- \
  run "$T/yolov8.sn" --scale n --backend ref --input "$T/x.npy" --output "$T/yolov8.sn"
ln "$T/x.npy" "$T/hard.npy"
expect_untouched out-is-input-hardlink "$T/x.npy" "$same" -- $R --input "$T/x.npy" --output "$T/hard.npy"
ln -s x.npy "$T/sym.npy"
expect_untouched out-is-input-symlink "$T/x.npy" "$same" -- $R --input "$T/x.npy" --output "$T/sym.npy"
expect_untouched weights-out-is-weights "$T/w.safetensors" "$same" -- \
  weights yolov8n --weights "$T/w.safetensors" --output "$T/w.safetensors"
expect_untouched weights-out-is-model "$T/yolov8.sn" "$same" -- \
  weights "$T/yolov8.sn" --scale n --output "$T/yolov8.sn"
tried=$((tried+1))
if "$SINTER" $R --input "$T/x.npy" --output "$T" >/dev/null 2>"$T/stderr"; then fail out-is-dir
elif grep -q "is a directory" "$T/stderr"; then pass; else fail out-is-dir; fi

# The reference output, to compare what devices and FIFOs receive.
"$SINTER" $R --input "$T/x.npy" --output "$T/ref.npy" 2>"$T/stderr" || fail "setup: ref run"

# A character device as output: written in place, still a device. A private node first (as
# root), so broken code cannot replace the real /dev/null, which root could.
safe=1
if [ "$(id -u)" = 0 ] && mknod "$T/null" c 1 3 2>/dev/null; then
  tried=$((tried+1))
  if "$SINTER" $R --input "$T/x.npy" --output "$T/null" 2>"$T/stderr" && [ -c "$T/null" ]; then
    pass; else fail out-private-chardev; safe=0; fi
fi
if [ $safe = 1 ]; then
  tried=$((tried+1))
  if "$SINTER" $R --input "$T/x.npy" --output /dev/null 2>"$T/stderr" && [ -c /dev/null ]; then
    pass; else fail out-dev-null; fi
fi
# A FIFO as output: written directly, the reader gets the whole file, the FIFO stays.
mkfifo "$T/out.fifo"
tried=$((tried+1))
cat "$T/out.fifo" >"$T/got.npy" & reader=$!
"$SINTER" $R --input "$T/x.npy" --output "$T/out.fifo" 2>"$T/stderr"; rc=$?
[ $rc -eq 0 ] || kill $reader 2>/dev/null
wait $reader
if [ $rc -eq 0 ] && cmp -s "$T/got.npy" "$T/ref.npy" && [ -p "$T/out.fifo" ]; then pass
else fail "out-fifo (exit $rc)"; fi

# FIFOs (no writer) and /dev/zero as inputs: refused within a second.
mkfifo "$T/in.fifo"
expect_refused_fast() {
  local name=$1; shift
  tried=$((tried+1))
  local t0; t0=$(now_ms)
  timeout 5 "$SINTER" "$@" >/dev/null 2>"$T/stderr"; local rc=$?
  local ms=$(( $(now_ms) - t0 ))
  if [ $rc -eq 1 ] && [ $ms -lt 1000 ] && grep -q "not a regular file" "$T/stderr"; then pass
  else fail "$name (exit $rc, ${ms} ms)"; fi
}
expect_refused_fast input-fifo $R --input "$T/in.fifo" --output "$T/o.npy"
expect_refused_fast input-dev-zero $R --input /dev/zero --output "$T/o.npy"
expect_refused_fast weights-fifo $R --input "$T/x.npy" --weights "$T/in.fifo" --output "$T/o.npy"
expect_refused_fast weights-dev-zero $R --input "$T/x.npy" --weights /dev/zero --output "$T/o.npy"
expect_refused_fast weights-cmd-fifo weights yolov8n --weights "$T/in.fifo" --output "$T/o.st"

# A 250-character output name (and 255, NAME_MAX): the temp name must still fit.
for len in 250 255; do
  tried=$((tried+1))
  long=$(printf 'o%.0s' $(seq $len))
  if "$SINTER" $R --input "$T/x.npy" --output "$T/$long" 2>"$T/stderr" && cmp -s "$T/$long" "$T/ref.npy"
  then pass; else fail "output-name-$len"; fi
  rm -f "$T/$long"
done

# A writer killed with -9 leaves ".sn.<FNV-1a of the name>.<pid>.XXXXXX": the next write to
# the same destination removes it (dead pid), and an hour-old old-style ".NAME.tmp.XXXXXX".
tried=$((tried+1))
h=2166136261
for b in $(printf %s out.npy | od -An -tu1); do h=$(( ((h ^ b) * 16777619) & 0xffffffff )); done
stale=$(printf '.sn.%08x.%d.AbCdEf' $h 999999999)
echo partial >"$T/$stale"; echo partial >"$T/.out.npy.tmp.GhIjKl"
touch -d '2 hours ago' "$T/.out.npy.tmp.GhIjKl"
if "$SINTER" $R --input "$T/x.npy" --output "$T/out.npy" 2>"$T/stderr" && [ ! -e "$T/$stale" ] &&
   [ ! -e "$T/.out.npy.tmp.GhIjKl" ] && [ -z "$(ls -A "$T" | grep '^\.')" ]; then pass
else fail stale-temp; ls -A "$T" | grep '^\.' | sed 's/^/    left: /'; fi

# A tensor name holding ESC: escaped on stderr, no raw control byte.
tried=$((tried+1))
"$SINTER" $R --input "$T/x.npy" --weights "$T/esc.safetensors" --output "$T/o.npy" 2>"$T/stderr"; rc=$?
if [ $rc -eq 1 ] && grep -qF 'evil\x1b[31mred' "$T/stderr" && ! grep -q $'\x1b' "$T/stderr"; then pass
else fail "escaped-tensor-name (exit $rc)"; fi

echo "$tried cases tried: $passes passed, $fails failed"
[ $fails -eq 0 ] && [ $passes -eq $tried ]
