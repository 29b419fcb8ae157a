#!/usr/bin/env bash
# ci/gpu/build_and_test.sh: build and test skipbench on the GPU machine (see issue 7). Unpacks the carried Debian
# packages (.debs/, from ci/gpu/fetch_debs.sh) into .deps/ with dpkg-deb -x (never into /), points CMake, pkg-config
# and the loader at them, builds against the machine's own torch (its Python's torch.utils.cmake_prefix_path), and
# runs ctest, where the GPU-only tests now run instead of skipping.
# Usage (device tool): bash ci/gpu/build_and_test.sh [ctest args]    env: TORCH_PYTHON (default /opt/torch/.venv/bin/python3)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
PY="${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}"
[[ -x "$PY" ]] || PY=python3
deps="$root/.deps"
if [[ ! -f "$deps/.unpacked" ]]; then
  [[ -d .debs ]] || { echo "no .debs/: run ci/gpu/fetch_debs.sh on a machine with apt and carry .debs"; exit 2; }
  mkdir -p "$deps"
  for f in .debs/*.deb; do dpkg-deb -x "$f" "$deps"; done
  touch "$deps/.unpacked"
fi
multi=x86_64-linux-gnu
export PATH="$deps/usr/bin:/usr/local/cuda/bin:$PATH"
export LD_LIBRARY_PATH="$deps/usr/lib/$multi:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$deps/usr/lib/$multi/pkgconfig:$deps/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$deps"
BUILD_DIR="${BUILD_DIR:-build-gpu}"
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSKIPBENCH_PYTHON="$PY" \
    -DCMAKE_PREFIX_PATH="$deps/usr;$deps/usr/lib/$multi/cmake" -DCMAKE_CUDA_ARCHITECTURES=90
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
export SKIPBENCH_FORTUNES_DIR="$deps/usr/share/games/fortunes"  # `data embed` and the CLI tests read it
bash ci/default_data.sh "$BUILD_DIR/skipbench"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
cd "$BUILD_DIR" && ctest --output-on-failure -j 4 "$@"
