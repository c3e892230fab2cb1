#!/usr/bin/env bash
# `sinter export` and --weights X.pt without Python: a state_dict and an Ultralytics trainer
# checkpoint (tests/tensorio/pt) exported, their safetensors metadata (nc, names as a JSON
# array, family, scale) and f16 dtype checked; refusals exit 1 with a message naming the file
# and the cause (a global off the allow-list, a legacy file) and leave no output; usage errors
# exit 2; --weights os_system.pt and a .pt of another model are refused. `sinter run` takes nc
# from an Ultralytics checkpoint (yolov8n with 3 classes, written by the oracle venv's
# ultralytics; those checks skipped without it), as MODEL or as --weights. Skipped (77) in a
# build without libzip.
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

# sinter run with a checkpoint: its nc without --nc, as MODEL and as --weights
PY=${SN_ORACLE_VENV:-$SRC/.venv-oracle}/bin/python
if [ -x "$PY" ] && "$PY" - "$T" >"$T/out" 2>"$T/err" <<'PY'
import sys, numpy as np, torch
from ultralytics.nn.tasks import DetectionModel
torch.manual_seed(0)
m = DetectionModel("yolov8n.yaml", nc=3, verbose=False)
m.names = {0: "a", 1: "b", 2: "c"}
torch.save({"model": m.half(), "ema": None, "train_args": {}}, sys.argv[1] + "/n3.pt")
np.save(sys.argv[1] + "/x.npy", np.random.default_rng(0).random((1, 3, 64, 64), dtype=np.float32))
PY
then
  shape() { python3 -c 'import ast, sys; b = open(sys.argv[1], "rb").read(); print(ast.literal_eval(b[10:10 + int.from_bytes(b[8:10], "little")].decode("latin1"))["shape"])' "$1"; }
  expect 0 "" run-pt-model -- run "$T/n3.pt" --input "$T/x.npy" --output "$T/y1.npy" --backend ref
  [ "$(shape "$T/y1.npy")" = "(1, 7, 84)" ] && echo "ok run .pt: nc 3" || { echo "FAIL run .pt: shape $(shape "$T/y1.npy")"; fails=$((fails+1)); }
  expect 0 "" run-pt-weights -- run yolov8n --weights "$T/n3.pt" --input "$T/x.npy" --output "$T/y2.npy" --backend ref
  expect 0 "" run-pt-weights-nc -- run yolov8n --weights "$T/n3.pt" --nc 3 --input "$T/x.npy" --output "$T/y3.npy" --backend cpu
  cmp -s "$T/y1.npy" "$T/y2.npy" && [ "$(shape "$T/y3.npy")" = "(1, 7, 84)" ] && echo "ok run .pt as MODEL == --weights" ||
    { echo "FAIL run .pt as MODEL != --weights"; fails=$((fails+1)); }
  expect 1 "brings its own weights" run-pt-twice -- run "$T/n3.pt" --weights "$T/n3.pt" --input "$T/x.npy" --output "$T/y4.npy"
  expect 1 "does not say which model" run-pt-state-dict -- run "$PT/state_dict.pt" --input "$T/x.npy" --output "$T/y4.npy"
  expect 1 "the weights do not fit the model" run-pt-nc-wrong -- run yolov8n --weights "$T/n3.pt" --nc 80 --input "$T/x.npy" --output "$T/y4.npy" --backend ref
  [ -e "$T/y4.npy" ] && { echo "FAIL a refused run wrote its output"; fails=$((fails+1)); }
else
  echo "skipped run with a checkpoint: no oracle venv with ultralytics ($PY)"
fi
[ $fails -eq 0 ] && echo "export_pt: all checks passed"
[ $fails -eq 0 ]
