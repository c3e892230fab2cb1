#!/usr/bin/env bash
# The GPU checks in one command, for a machine with an NVIDIA GPU whose image has CUDA, cmake,
# a C compiler and python3 with numpy and torch, but maybe neither LLVM 19 nor xxHash and no
# network (the device tool's machines). Builds what the machine allows (without LLVM 19 the
# cpu backend is left out: the GPU tests compare against ref, not cpu), then runs a stage.
#
#   scripts/gpu.sh --prepare      here, before the call: copies xxhash.h into .deps/include
#                                 (git-ignored; name ".deps" in the call's carry)
#   scripts/gpu.sh test           build, `ctest -L gpu` and the NVRTC compiles, in parallel
#   scripts/gpu.sh bench [MODEL]  build, bench/gpu_vs_torch.sh MODEL 640 f16 --record
#   scripts/gpu.sh all            both
# Logs go to $OUT (the device tool's folder that comes back) or out/; the last lines printed
# are a summary. Exits non-zero when the build or a test fails.
set -uo pipefail
cd "$(dirname "$0")/.."
stage=${1:-all}
if [ "$stage" = --prepare ]; then
  mkdir -p .deps/include
  cp /usr/include/xxhash.h .deps/include/
  echo "copied xxhash.h into .deps/include; carry \".deps\""
  exit 0
fi
out=${OUT:-out}
mkdir -p "$out"
py=$(command -v python3)
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee "$out/gpu.txt"

# xxHash: the system's, else the header carried in .deps (header-only, XXH_INLINE_ALL)
xx=()
if [ ! -e /usr/include/xxhash.h ] && [ -e .deps/include/xxhash.h ]; then
  xx=(-DSN_XXHASH_INCLUDE="$PWD/.deps/include" -DSN_XXHASH_HEADER_ONLY=ON)
fi
t0=$(date +%s)
if ! { cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DSN_PYTHON="$py" "${xx[@]}" &&
       cmake --build build-gpu -j"$(nproc)"; } >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log"
  echo "gpu.sh: build failed (log: $out/build.log)"
  exit 1
fi
echo "built in $(( $(date +%s) - t0 )) s: $(grep -m1 -o 'no LLVM 19.*' "$out/build.log" || echo 'with the cpu backend')"
rc=0
if [ "$stage" = test ] || [ "$stage" = all ]; then
  t0=$(date +%s)
  # the GPU tests (every zoo model vs ref in f32/f16/bf16, kernels, runtime, torch parity)
  # and the NVRTC compiles of the CI set, spread over the cores
  # (-V: every test's output, so each model/shape/dtype's error against ref is kept)
  ctest --test-dir build-gpu -L "gpu|nvrtc" -j"$(nproc)" -V --timeout 1800 \
    >"$out/ctest.log" 2>&1 || rc=1
  grep -E "(^|: )(ok  |FAIL )" "$out/ctest.log" >"$out/cases.txt" || true
  echo "tests in $(( $(date +%s) - t0 )) s; compare.py cases: $(grep -c 'ok  ' "$out/cases.txt") ok, $(grep -c 'FAIL ' "$out/cases.txt") failed"
  grep -E "tests passed|tests failed|Failed|\*\*\*|Not Run|Skipped" "$out/ctest.log" | tail -25
fi
if [ "$stage" = bench ] || [ "$stage" = all ]; then
  model=${2:-yolov8n}
  SINTER=build-gpu/sinter bench/gpu_vs_torch.sh "$model" 640 f16 --record 2>"$out/bench.err" |
    tee "$out/bench.txt" || rc=1
  cp bench/RESULTS.md "$out/RESULTS.md"
  tail -5 "$out/bench.err"
fi
exit $rc
