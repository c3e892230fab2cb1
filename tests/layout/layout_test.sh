#!/usr/bin/env bash
# check_layout.sh passes on the tree, and fails naming file:line on each kind of wrong include
# planted in a copy of the module folders.
set -euo pipefail
check=$1 src=$2
"$check" "$src"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for m in base ir frontend io passes runtime codegen engine cli bench include; do
  cp -r "$src/$m" "$tmp/$m"
done
expect_fail() { # FILE LINE-TEXT MESSAGE-PART
  cp "$tmp/$1" "$tmp/$1.orig"
  printf '%s\n' "$2" >>"$tmp/$1"
  if out=$("$check" "$tmp" 2>&1); then
    echo "FAIL: '$2' in $1 was accepted"; exit 1
  fi
  [[ $out == *"$1:"*"$3"* ]] || { echo "FAIL: '$2' in $1: unexpected message: $out"; exit 1; }
  echo "refused: $1: $2"
  mv "$tmp/$1.orig" "$tmp/$1"
}
expect_fail runtime/util.c '#include "ir/ir.h"' "module runtime may not include"
expect_fail ir/graph.c '#include "passes/passes.h"' "module ir may not include"
expect_fail engine/api.c '#include "codegen/codegen_int.h"' "is private to codegen/"
expect_fail cli/run.c '#include "runtime/runtime_int.h"' "is private to runtime/"
echo ok
