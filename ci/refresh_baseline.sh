#!/usr/bin/env bash
# ci/refresh_baseline.sh: regenerate reports/baselines/smoke.json on purpose (README "CI regression"): the smoke
# suite three times, with LibTorch's and MKL's AVX512 (or whatever this CPU has), AVX2 and no-SIMD kernels; the
# baseline is the first, and the tolerance mode's tolerances come from its measured difference to the other two.
# Run from a clean tree on the CI machine type; commit the baseline saying why the numbers moved.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
bash ci/default_data.sh build/skipbench
rm -rf build/ci-smoke build/ci-smoke-avx2 build/ci-smoke-noavx
build/skipbench suite run ablations/smoke.json --out build/ci-smoke --jobs 2 --no-report
ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 \
  build/skipbench suite run ablations/smoke.json --out build/ci-smoke-avx2 --jobs 2 --no-report
ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 \
  build/skipbench suite run ablations/smoke.json --out build/ci-smoke-noavx --jobs 2 --no-report
build/skipbench regress --update --baseline reports/baselines/smoke.json build/ci-smoke \
  --spread build/ci-smoke-avx2 --spread build/ci-smoke-noavx
build/skipbench regress --baseline reports/baselines/smoke.json build/ci-smoke-avx2 | tail -1
