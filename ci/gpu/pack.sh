#!/usr/bin/env bash
# ci/gpu/pack.sh: on this (CPU) machine, put what ci/gpu/measure.sh needs on the GPU machine into .carry/ (ignored
# by git; the device tool carries it with `carry: [".carry", ".reference"]`, at most 64 MiB in all): the binaries
# built here (the CLI, the test binary, the benchmarks; the torch wheel here is the GPU machine's build, so they run
# there with its torch lib folder on LD_LIBRARY_PATH), the non-system shared libraries they need (Boost.JSON,
# sentencepiece, ...), the embedded data, and a manifest (commit, sizes). Also fetches the released code into
# .reference/ for the side-by-side (ci/gpu/fetch_reference.sh), if it is not there.
# Usage: bash ci/gpu/pack.sh     (after bash ci/build.sh and bash ci/default_data.sh build/skipbench)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out=.carry
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib" "$out/data"
bins=(build/skipbench build/tests/skipbench_tests build/skipbench_bench_hard_skip build/skipbench_bench_blocks)
for b in "${bins[@]}"; do
  [[ -x "$b" ]] || { echo "pack: $b is missing: run bash ci/build.sh first" >&2; exit 2; }
  cp "$b" "$out/bin/"
done
# shared libraries outside torch, CUDA and the C runtime (the GPU machine has those)
for b in "${bins[@]}"; do ldd "$b"; done | awk '$3 ~ /^\// {print $3}' | sort -u | while read -r lib; do
  case "$(basename "$lib")" in
    libtorch*|libc10*|libcu*|libnv*|libnccl*|libcudnn*|libgomp*|libc.so*|libm.so*|libdl.so*|librt.so*|libpthread.so*|\
    libutil.so*|ld-linux*|libgcc_s.so*) ;;
    *) cp -L "$lib" "$out/lib/" ;;
  esac
done
[[ -f data/default/manifest.json ]] && cp -r data/default "$out/data/"
[[ -d .reference/skip-middle ]] || bash ci/gpu/fetch_reference.sh || echo "pack: no .reference/skip-middle (fetch it with the fetch tool, then ci/gpu/fetch_reference.sh): the side-by-side will be skipped"
{
  echo "commit $(git rev-parse HEAD)$([[ -n "$(git status --porcelain --untracked-files=no)" ]] && echo ' (dirty)')"
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  du -sh "$out" .reference 2>/dev/null
  ls -la "$out/bin" "$out/lib"
} > "$out/MANIFEST"
total=$(du -sm "$out" | cut -f1)
ref=$(du -sm .reference 2>/dev/null | cut -f1 || echo 0)
echo "pack: $out ${total} MiB (+ .reference ${ref:-0} MiB); limit 64 MiB"
(( total + ${ref:-0} <= 64 )) || { echo "pack: over the 64 MiB that travels" >&2; exit 1; }
