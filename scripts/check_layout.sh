#!/usr/bin/env bash
# The module layout (../shared/DESIGN.md), checked on every build: a file of module M may
# include "X/…" only where X is M or one of M's dependencies below, and a module's private
# headers (X/*_int.h) only from X itself (and from X's tests). A wrong include fails the
# build with the file and line. usage: check_layout.sh SOURCE_DIR
set -euo pipefail
cd "$1"
declare -A deps=(
  [base]=""
  [ir]="base"
  [frontend]="base ir"
  [passes]="base ir"
  [runtime]="base"
  [codegen]="base ir runtime"
  [io]="base ir"
  [engine]="base ir frontend io passes codegen runtime"
  # cli: engine only is the target; it still calls frontend (.npy, models), runtime (devices,
  # plans, cache) and passes (info --fused) directly
  [cli]="engine base ir frontend io runtime passes codegen"
)
bad=0
for m in "${!deps[@]}"; do
  [[ -d $m ]] || continue
  while IFS=: read -r file line inc; do
    dir=${inc%%/*}
    ok=0
    [[ $dir == "$m" ]] && ok=1
    for d in ${deps[$m]}; do [[ $dir == "$d" ]] && ok=1; done
    if ((!ok)); then
      echo "$file:$line: error: module $m may not include \"$inc\" (it depends on: ${deps[$m]:-nothing})" >&2
      bad=1
    elif [[ $inc == *_int.h && $dir != "$m" ]]; then
      echo "$file:$line: error: \"$inc\" is private to $dir/" >&2
      bad=1
    fi
  done < <(grep -n -o -E '^#include "[a-z_]+/[a-z_0-9]+\.(h|def)"' -r "$m" --include='*.c' --include='*.h' |
           sed -E 's/#include "([^"]+)"/\1/')
done
# bench/ and include/ are outside every module: public headers only
while IFS=: read -r file line inc; do
  if [[ $inc == *_int.h || $inc == tests/* ]]; then
    echo "$file:$line: error: \"$inc\" is private (bench/ uses public headers only)" >&2
    bad=1
  fi
done < <(grep -n -o -E '^#include "[a-z_]+/[a-z_0-9]+\.(h|def)"' -r bench include --include='*.c' --include='*.h' 2>/dev/null |
         sed -E 's/#include "([^"]+)"/\1/')
exit $bad
