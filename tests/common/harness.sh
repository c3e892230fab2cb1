# tests/common/harness.sh — what the shell tests share, sourced after `set -u`: a temporary
# folder $T removed on exit, and the pass/fail counters with ok, bad and summary.
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { fails=$((fails+1)); echo "FAIL $*"; }
# summary NAME: prints the counts; the exit status is 0 only without failures
summary() { echo "$1: $passes passed, $fails failed"; [ $fails -eq 0 ]; }
