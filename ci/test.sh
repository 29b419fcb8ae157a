#!/usr/bin/env bash
# ci/test.sh: set up (idempotent), build, build the embedded default data (ci/default_data.sh), and run every
# test through ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
bash ci/default_data.sh build/skipbench
cd build
ctest --output-on-failure --timeout 900 -j "${SKIPBENCH_TEST_JOBS:-2}"
