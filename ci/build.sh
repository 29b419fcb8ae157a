#!/usr/bin/env bash
# ci/build.sh: set up (idempotent) and build skipbench into build/ (Release, Ninja). Incremental after the first run.
# Environment: BUILD_DIR (default build), SKIPBENCH_CMAKE_ARGS (extra CMake arguments), SKIPBENCH_SKIP_SETUP=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ "${SKIPBENCH_SKIP_SETUP:-0}" == 1 ]] || bash ci/setup.sh
export PATH="/usr/local/cuda/bin:$PATH"
BUILD_DIR="${BUILD_DIR:-build}"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release ${SKIPBENCH_CMAKE_ARGS:-} >"$BUILD_DIR.configure.log" 2>&1 \
    || { cat "$BUILD_DIR.configure.log"; exit 1; }
  echo "build: configured $BUILD_DIR (log: $BUILD_DIR.configure.log)"
fi
start=$(date +%s)
cmake --build "$BUILD_DIR" --parallel "${SKIPBENCH_JOBS:-$(nproc)}"
echo "build: done in $(( $(date +%s) - start )) s"
