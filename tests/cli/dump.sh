#!/usr/bin/env bash
# `sinter compile --dump DIR` writes the IR after every pass and every kernel's source, each
# kernel opening with its provenance (IR ops and model-file lines).
set -u
SINTER=$1; shift
backends=${*:-cpu cuda} # the backends this sinter was built with
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0
for be in $backends; do
  d="$T/$be"
  if ! SINTER_CACHE_DIR="$T/cache" "$SINTER" compile yolov8n --backend $be --imgsz 64 --dump "$d" >"$T/out" 2>"$T/err"; then
    echo "FAIL $be: compile failed"; cat "$T/err"; fails=$((fails+1)); continue
  fi
  nir=$(ls "$d"/*.ir 2>/dev/null | wc -l)
  ext=$([ $be = cpu ] && echo ll || echo cu)
  nk=$(ls "$d"/*.$ext 2>/dev/null | wc -l)
  # identical kernels share a name (and a source file): one file per distinct kernel
  kernels=$(grep -o '([0-9]* distinct)' "$T/out" | head -1 | tr -dc 0-9)
  nprov=$(grep -l 'models/yolov8.sn:' "$d"/*.$ext 2>/dev/null | wc -l)
  if [ "$nir" -lt 8 ] || ! grep -q "plan-memory" <(ls "$d"); then echo "FAIL $be: $nir IR dumps"; fails=$((fails+1)); fi
  if [ "$nk" -lt 1 ] || [ "$nk" != "$kernels" ]; then echo "FAIL $be: $nk kernel files for $kernels distinct kernels"; fails=$((fails+1)); fi
  if [ "$nprov" != "$nk" ]; then echo "FAIL $be: $nprov of $nk kernels name their model-file lines"; fails=$((fails+1)); fi
  # a CPU kernel's .ll is the module as compiled: LLVM's assembler reads it back
  if [ $be = cpu ] && command -v llvm-as-19 >/dev/null; then
    for f in "$d"/*.ll; do
      if ! llvm-as-19 "$f" -o /dev/null 2>"$T/as"; then echo "FAIL cpu: $f is not LLVM IR"; head -3 "$T/as"; fails=$((fails+1)); break; fi
    done
  fi
  echo "$be: $nir IR dumps, $nk kernel sources ($kernels distinct kernels), $nprov with provenance"
done
n=$(echo $backends | wc -w)
echo "$((n - fails < 0 ? 0 : n - fails)) passed, $fails failed"
[ $fails -eq 0 ]
