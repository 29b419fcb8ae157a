#!/usr/bin/env bash
# ci/test.sh: set up (idempotent), build, build the embedded data, and run every test through ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
[[ -f data/default/train_000000.bin ]] || build/skipbench data embed --out data/default
cd build
ctest --output-on-failure --timeout 900 -j "${SKIPBENCH_TEST_JOBS:-2}"
