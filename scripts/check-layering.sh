#!/usr/bin/env bash
# Checks the module boundaries docs/architecture.md promises (issue 15), so that a change that
# breaks one fails `make test`:
#   - PeregrineEngine depends on neither PeregrineNATS nor CNATS (Package.swift and imports);
#   - the `peregrine` CLI imports neither PeregrineSys nor PeregrineCore and starts no thread,
#     ring, sleep or spin of its own (issue 16 moved the mempool run, the last exception, into
#     the pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
failed=0
fail() { echo "layering: $*" >&2; failed=1; }

engine_deps=$(awk '/^ *name: "PeregrineEngine",$/{found=1} found&&/\]/{print; exit} found{print}' Package.swift)
if grep -qE '"(PeregrineNATS|CNATS)"' <<<"$engine_deps"; then
  fail "Package.swift: PeregrineEngine must not depend on PeregrineNATS or CNATS"
fi
if grep -lE '^import (PeregrineNATS|CNATS)$' Sources/PeregrineEngine/*.swift; then
  fail "the files above in Sources/PeregrineEngine import NATS"
fi

if grep -lE '^import PeregrineSys$' Sources/peregrine/*.swift; then
  fail "the files above in Sources/peregrine import PeregrineSys"
fi
if grep -lE '^import PeregrineCore$' Sources/peregrine/*.swift; then
  fail "the files above in Sources/peregrine import PeregrineCore"
fi
if grep -nE 'PinnedThread|pthread_create|Thread\(|DispatchQueue|Task \{|Task\.detached|SPSCRing|SequencedRing|sched_yield|usleep|nanosleep|Thread\.sleep|Task\.sleep|[^a-zA-Z_.]sleep\(' \
  Sources/peregrine/*.swift; then
  fail "the lines above start threads, make rings or sleep in the CLI (library entry points do)"
fi
[ "$failed" = 0 ] && echo "layering: PeregrineEngine has no NATS dependency; the CLI imports no PeregrineSys/PeregrineCore and starts no thread, ring or sleep"
exit "$failed"
