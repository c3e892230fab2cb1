#!/usr/bin/env bash
# Installs the parity oracles — PyPI's torch and ultralytics 8.4.x — into a venv
# (default .venv-oracle at the repository root, or $SN_ORACLE_VENV). Idempotent: exits at once
# when the venv already imports both. The oracles are never a runtime dependency: only tests
# labelled `parity` and the benchmarks use them, and they skip with a message without it.
#   scripts/oracle_venv.sh            # create or complete the venv, print its python
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SN_ORACLE_VENV:-$root/.venv-oracle}"
py="$venv/bin/python"
if [ -x "$py" ] && "$py" -c "import torch, ultralytics" 2>/dev/null; then
  echo "$py"; exit 0
fi
base="$(command -v python3)"
[ -n "$base" ] || { echo "oracle_venv: python3 not found" >&2; exit 1; }
"$base" -c "import venv" 2>/dev/null || { echo "oracle_venv: $base lacks the venv module" >&2; exit 1; }
echo "oracle_venv: installing torch and ultralytics 8.4.x into $venv (a few minutes)" >&2
"$base" -m venv "$venv"
"$py" -m pip install -q --upgrade pip >&2
# The CPU wheel index is not reachable from every machine; PyPI's default wheel works on CPU.
"$py" -m pip install -q "torch" "numpy" "safetensors" "ultralytics>=8.4,<8.5" >&2
"$py" -c "import torch, ultralytics; print('oracle_venv: torch', torch.__version__, 'ultralytics', ultralytics.__version__)" >&2
echo "$py"
