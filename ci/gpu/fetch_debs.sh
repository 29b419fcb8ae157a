#!/usr/bin/env bash
# ci/gpu/fetch_debs.sh: on a development machine (apt reachable), download the Debian packages the build needs into
# .debs/ (ignored by git), so they can travel to the GPU machine, which has CMake, ninja, nvcc 13.0 and Python
# torch 2.11.0+cu130 but no apt or pip. Idempotent: existing .debs are kept.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$root/.debs"
cd "$root/.debs"
PKGS=(
  libboost1.81-dev libboost-json1.81-dev libboost-json1.81.0 libboost-container1.81-dev libboost-container1.81.0
  libboost-system1.81-dev libboost-system1.81.0
  libcli11-dev
  libgtest-dev googletest
  libbenchmark-dev libbenchmark1debian
  libsentencepiece-dev libsentencepiece0
  pkgconf pkgconf-bin libpkgconf3
  fortunes fortunes-min fortune-anarchism fortunes-bofh-excuses fortunes-debian-hints
)
for p in "${PKGS[@]}"; do
  ls "${p}"_*.deb >/dev/null 2>&1 || apt-get download "$p" >/dev/null
done
du -sh "$root/.debs"
echo "fetch_debs: ${#PKGS[@]} packages in .debs/ (carry it to the GPU machine)"
