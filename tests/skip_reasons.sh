#!/usr/bin/env bash
# After a ctest run: why each skipped test was skipped. ctest lists the skipped tests by name under
# "The following tests did not run"; their reasons are in ctest's log, where every skipped test's
# output is the one line "skipped: <reason>" its runner printed (tests/CMakeLists.txt).
#
#   tests/skip_reasons.sh [BUILD_DIR]     (default: build)
set -euo pipefail
log="${1:-build}/Testing/Temporary/LastTest.log"
[ -f "$log" ] || { echo "skip_reasons: no ctest log at $log" >&2; exit 1; }
awk '
  /^[0-9]+\/[0-9]+ Test: / { name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); next }
  /^Output:$/               { getline; first = 1; next }        # the line of dashes, then the output
  first && /^skipped: /     { reasons[++n] = "  " name ": " substr($0, 10) }
                            { first = 0 }
  END {
    if (n == 0) exit
    print "Skipped tests and why:"
    for (i = 1; i <= n; ++i) print reasons[i]
  }' "$log"
