#!/usr/bin/env bash
# The kernel cache through the whole CLI: entries that are well-formed but wrong — two entries
# trading payloads, junk where the object should be, a payload naming a missing symbol, a FIFO
# in an entry's place — are each recompiled with an output byte-identical to a fresh compile's,
# the bad entry is rewritten (the FIFO left in place), and the next run reports nothing.
# usage: cache_cli.sh SINTER CACHE_TOOL SOURCE_DIR
set -u
SINTER=$1; TOOL=$2; SRC=$(cd "$3" && pwd)
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
export SINTER_CACHE_DIR=$T/kc
fails=0; checks=0
check() { # check DESCRIPTION COMMAND...
  checks=$((checks+1))
  if ! "${@:2}"; then echo "FAIL $1"; fails=$((fails+1)); fi
}

cat > "$T/tiny.sn" <<SN
use "$SRC/models/blocks.sn"
model tiny {
    nc = 2
    scales { n = [1.0, 1.0, 64] }
    layers {
        0: -1 1 Conv(8, 3, 2)
        1: -1 1 Conv(16, 3, 2)
        2: -1 1 Conv(16, 3, 2)
        3: -1 1 Conv(16, 3, 2)
        4: [1, 2, 3] 1 Detect(nc)
    }
}
SN
python3 - "$T/x.npy" <<'PY'
import struct, sys
n = 3 * 64 * 64
hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 64, 64), }"
hdr = hdr.ljust((len(hdr) + 10 + 63) // 64 * 64 - 10 - 1) + '\n'
body = b''.join(struct.pack('<f', ((i * 7919) % 1000) / 1000.0 - 0.3) for i in range(n))
open(sys.argv[1], 'wb').write(b'\x93NUMPY\x01\x00' + struct.pack('<H', len(hdr)) + hdr.encode() + body)
PY

# run NAME: one forward pass into $T/NAME.npy, stderr in $T/NAME.err; a hang is a failure
run() {
  timeout 60 "$SINTER" run "$T/tiny.sn" --input "$T/x.npy" --output "$T/$1.npy" --backend cpu \
    --weights random:3 --threads 2 >/dev/null 2>"$T/$1.err"
}
# compile_json NAME: the same model through `compile --json` (the cache's counters)
compile_json() {
  timeout 60 "$SINTER" compile "$T/tiny.sn" --imgsz 64 --backend cpu --threads 2 --json \
    >"$T/$1.json" 2>"$T/$1.err"
}
quiet() { ! grep -qi "warning\|error" "$T/$1.err"; }
same_output() { cmp -s "$T/fresh.npy" "$T/$1.npy"; }
clean_cache() { # every kernel a hit, nothing corrupt, nothing said
  compile_json "$1" && grep -q '"corrupt": 0' "$T/$1.json" && grep -q '"misses": 0' "$T/$1.json" \
    && quiet "$1"
}

check "fresh run" run fresh
check "fresh compile hits the cache" clean_cache fresh_c
mapfile -t E < <(find "$SINTER_CACHE_DIR" -name '*.snk' | sort)
check "at least 3 cache entries" test ${#E[@]} -ge 3
A=${E[0]}; B=${E[1]}; C=${E[2]}

# Two entries trade payloads (headers resealed): a wrong result or a crash in JIT code before.
"$TOOL" swap "$A" "$B" || { echo "FAIL cache_tool swap"; exit 1; }
sA=$(md5sum < "$A"); sB=$(md5sum < "$B")
check "swapped pair: run succeeds" run swap
check "swapped pair: output as a fresh compile's" same_output swap
check "swapped pair: both entries rewritten" test "$(md5sum < "$A")" != "$sA" -a "$(md5sum < "$B")" != "$sB"
check "swapped pair: next run reports nothing" clean_cache swap_next
"$TOOL" swap "$A" "$B"
check "swapped pair: compile counts both corrupt" compile_json swap_c
check "swapped pair: corrupt 2" grep -q '"corrupt": 2' "$T/swap_c.json"
check "swapped pair: then clean" clean_cache swap_c_next

# Junk where the object should be (valid header and checksum): failed the plan on every run.
"$TOOL" junk "$C" || { echo "FAIL cache_tool junk"; exit 1; }
check "junk object: run succeeds" run junk
check "junk object: output as a fresh compile's" same_output junk
check "junk object: says so" grep -q "does not load" "$T/junk.err"
check "junk object: next run reports nothing" clean_cache junk_next

# A payload whose entry name is no symbol of its object.
"$TOOL" unnamed "$A" || { echo "FAIL cache_tool unnamed"; exit 1; }
check "missing symbol: run succeeds" run unnamed
check "missing symbol: output as a fresh compile's" same_output unnamed
check "missing symbol: says so" grep -q "does not load" "$T/unnamed.err"
check "missing symbol: next run reports nothing" clean_cache unnamed_next

# A FIFO in an entry's place: open() blocked forever before. Refused at once, left alone.
rm -f "$B" && mkfifo "$B"
t0=$(date +%s%N)
check "FIFO entry: run succeeds" run fifo
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "FIFO entry: output as a fresh compile's" same_output fifo
check "FIFO entry: warned" grep -q "not a regular file" "$T/fifo.err"
check "FIFO entry: left in place" test -p "$B"
echo "FIFO entry: run took $ms ms"
rm -f "$B"

echo "cache_cli: $checks checks, $fails failed"
[ $fails -eq 0 ]
