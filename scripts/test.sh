#!/usr/bin/env bash
# The test run: install what is missing, build with -Werror, run every test (gpu tests skip
# with exit 77 where no GPU is present), then the unit tests and the bad-input corpus again
# under ASan + UBSan. Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
jobs=$(nproc)
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSN_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"
ctest --test-dir build-test --output-on-failure -j"$jobs" --timeout 1800 -LE slow
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSN_WERROR=ON -DSN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions="$PWD/tests/lsan.supp" \
  ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit -LE "slow|nvrtc" --timeout 1800
