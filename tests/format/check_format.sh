#!/usr/bin/env bash
# Every tracked C file (.c, .h) in the repository is clang-formatted with the repository's
# .clang-format (STYLE.md). Needs clang-format 14 (other versions format slightly differently,
# so they would report drift that is not there): `clang-format-14`, or `clang-format` when it is
# version 14, or $SN_CLANG_FORMAT. Exits 77 (skipped) when none is found.
# Fix what it lists with: clang-format -i FILE...
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2

cf=${SN_CLANG_FORMAT:-}
if [ -z "$cf" ]; then
  for c in clang-format-14 clang-format; do
    if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q 'version 14\.'; then
      cf=$c
      break
    fi
  done
fi
if [ -n "${SN_CLANG_FORMAT:-}" ] && ! "$cf" --version >/dev/null 2>&1; then
  echo "format_check: SN_CLANG_FORMAT=$cf does not run"
  exit 2
fi
if [ -z "$cf" ]; then
  echo "format_check: skipped (no clang-format 14; set SN_CLANG_FORMAT to use another)"
  exit 77
fi

# Tracked files when this is a git checkout (an engineer's untracked work in progress is not
# checked), every C file below the root otherwise.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.c' '*.h')
else
  mapfile -t files < <(find . -name 'build*' -prune -o \( -name '*.c' -o -name '*.h' \) -print |
    sed 's|^\./||' | sort)
fi

bad=()
for f in "${files[@]}"; do
  [ -f "$f" ] || continue # deleted in the working tree, not yet in the index
  "$cf" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "format_check: ${#bad[@]} of ${#files[@]} files are not clang-formatted:"
  printf '  %s\n' "${bad[@]}"
  echo "fix: $cf -i ${bad[*]}"
  exit 1
fi
echo "format_check: ${#files[@]} files clang-formatted ($("$cf" --version | head -1))"
