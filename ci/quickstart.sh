#!/usr/bin/env bash
# ci/quickstart.sh: the main job on the embedded default data. Sets up and builds what is missing, builds the
# embedded corpus (ci/default_data.sh: Debian fortunes, 4096-piece BPE), then runs the default ablation suite (ablations/default.json: dense baselines of
# three depths vs gated models at two controller targets, matched token budget) and renders its report.
# Re-running resumes an interrupted suite and never re-runs finished runs. Extra arguments go to `suite run`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
bash ci/default_data.sh build/skipbench
out="${SKIPBENCH_OUT:-runs/default}"
build/skipbench suite run ablations/default.json --out "$out" "$@"
build/skipbench suite status "$out"
echo
echo "report: $out/report.html  (also $out/report.md, $out/report.json, figures in $out/figures/)"
