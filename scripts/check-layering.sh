#!/usr/bin/env bash
# Checks the module boundaries docs/architecture.md promises (issue 15), so that a change that
# breaks one fails `make test`:
#   - PeregrineEngine depends on neither PeregrineNATS nor CNATS (Package.swift and imports);
#   - the `peregrine` CLI imports neither PeregrineSys nor PeregrineCore and starts no thread,
#     except the mempool run (Mempool.swift, MempoolBundleSink.swift), which issue 16 moves into
#     the engine.
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

exception='Sources/peregrine/(Mempool|MempoolBundleSink)\.swift'
if grep -lE '^import PeregrineSys$' Sources/peregrine/*.swift; then
  fail "the files above in Sources/peregrine import PeregrineSys"
fi
if grep -lE '^import PeregrineCore$' Sources/peregrine/*.swift | grep -vE "$exception"; then
  fail "the files above in Sources/peregrine import PeregrineCore (only the mempool run may, until issue 16)"
fi
if grep -nE 'PinnedThread|pthread_create|Thread\(|DispatchQueue|Task \{|Task\.detached' Sources/peregrine/*.swift \
  | grep -vE "^$exception:"; then
  fail "the lines above start threads in the CLI (library entry points start them)"
fi
[ "$failed" = 0 ] && echo "layering: PeregrineEngine has no NATS dependency; the CLI imports no PeregrineSys/PeregrineCore and starts no thread outside the mempool run"
exit "$failed"
