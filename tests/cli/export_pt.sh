#!/usr/bin/env bash
# `sinter export` and --weights X.pt without Python: a state_dict and an Ultralytics trainer
# checkpoint (tests/tensorio/pt) exported, their safetensors metadata (nc, names as a JSON
# array, family, scale) and f16 dtype checked; refusals exit 1 with a message naming the file
# and the cause (a global off the allow-list, a legacy file) and leave no output; usage errors
# exit 2; --weights os_system.pt and a .pt of another model are refused. Skipped (77) in a build
# without libzip.
set -u
SINTER=$1; SRC=$2
PT=$SRC/tests/tensorio/pt
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
fail() { fails=$((fails+1)); echo "FAIL $1"; sed 's/^/    /' "$T/err" | head -5; }
# expect CODE SUBSTRING NAME -- ARGS…: exit CODE and SUBSTRING in stderr
expect() {
  local code=$1 sub=$2 name=$3; shift 4
  "$SINTER" "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ $rc -ne "$code" ]; then fail "$name: exit $rc, want $code"; return; fi
  if [ -n "$sub" ] && ! grep -qF -- "$sub" "$T/err"; then fail "$name: stderr lacks '$sub'"; return; fi
  echo "ok $name"
}
# the header's __metadata__ as "key=value" lines (python3 only, no packages)
meta() { python3 - "$1" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
for k, v in sorted(h.pop("__metadata__").items()):
    print("%s=%s" % (k, v))
print("dtypes=%s" % ",".join(sorted({v["dtype"] for v in h.values()})))
print("tensors=%d" % len(h))
PY
}

if "$SINTER" export "$PT/state_dict.pt" --output "$T/probe.safetensors" 2>&1 | grep -q "without libzip"; then
  echo "skipped: this sinter was built without libzip"; exit 77
fi
expect 0 "" export-state-dict -- export "$PT/state_dict.pt" --output "$T/sd.safetensors"
m=$(meta "$T/sd.safetensors")
[ "$m" = $'format=pt\ndtypes=F32\ntensors=10' ] && echo "ok state-dict metadata" || { echo "FAIL state-dict metadata: $m"; fails=$((fails+1)); }
expect 0 "" export-trainer -- export "$PT/tiny_train.pt" --output "$T/t.safetensors" --dtype f16
m=$(meta "$T/t.safetensors")
want=$'family=yolov8\nformat=pt\nnames=["cat","d\xc3\xb6g"]\nnc=2\nscale=n\ndtypes=F16\ntensors=50'
[ "$m" = "$want" ] && echo "ok trainer metadata" || { echo "FAIL trainer metadata: $m"; fails=$((fails+1)); }
grep -q "50 tensors, 5,748 values from ema; model yolov8 scale n; nc 2" "$T/out" && echo "ok summary" ||
  { echo "FAIL summary: $(cat "$T/out")"; fails=$((fails+1)); }

expect 1 "refusing the global 'os.system'" os-system -- export "$PT/os_system.pt" --output "$T/x.safetensors"
[ -e "$T/x.safetensors" ] && { echo "FAIL os-system: an output was written"; fails=$((fails+1)); }
expect 1 "legacy (non-zip)" legacy -- export "$PT/legacy.pt" --output "$T/x.safetensors"
expect 1 "not a .pt checkpoint" not-pt -- export "$T/sd.safetensors" --output "$T/x.safetensors"
expect 1 "same file" output-is-input -- export "$PT/state_dict.pt" --output "$PT/state_dict.pt"
expect 2 "required" no-output -- export "$PT/state_dict.pt"
expect 2 "unknown option" bad-option -- export "$PT/state_dict.pt" --output "$T/x.safetensors" --nc 3
expect 1 "refusing the global 'os.system'" weights-os-system -- weights yolov8n --weights "$PT/os_system.pt" --output "$T/w.safetensors"
expect 1 "the weights do not fit the model" weights-mismatch -- weights yolov8n --weights "$PT/tiny_train.pt" --output "$T/w.safetensors"
[ $fails -eq 0 ] && echo "export_pt: all checks passed"
[ $fails -eq 0 ]
