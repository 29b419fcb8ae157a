#!/usr/bin/env bash
# ci/quickstart.sh: the main job on the embedded default data. Sets up and builds what is missing, builds the
# embedded corpus (ci/default_data.sh: six Debian text packages, 5.4M training tokens, 4096-piece BPE), then runs
# the default ablation suite (ablations/default.json: dense baselines of 1, 2 and 4 blocks vs 4-block gated models
# at two controller targets, matched tokens, about 8 minutes on 2 cores) and renders its report.
# Re-running resumes an interrupted suite and never re-runs finished runs. Two runs at a time, one thread each
# (measured faster than one run on two threads at these shapes; SKIPBENCH_JOBS=N to change). Extra arguments go to
# `suite run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
bash ci/default_data.sh build/skipbench
out="${SKIPBENCH_OUT:-runs/default}"
build/skipbench suite run ablations/default.json --out "$out" --jobs "${SKIPBENCH_JOBS:-2}" "$@"
build/skipbench suite status "$out"
echo
echo "report: $out/report.html  (also $out/report.md, $out/report.json, figures in $out/figures/)"
