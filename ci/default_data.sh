#!/usr/bin/env bash
# ci/default_data.sh: build the embedded default data set in data/default if it is missing: the English text of
# Debian's `fortunes` package (the `ascii-art`/`art` pictures left out), a 4096-piece BPE vocabulary trained on it
# with sentencepiece (`skipbench data prepare`, deterministic, ~4 s on 2 cores), llm.c shards. Idempotent.
# Usage: bash ci/default_data.sh [path/to/skipbench]   env: SKIPBENCH_FORTUNES_DIR (default /usr/share/games/fortunes)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${1:-build/skipbench}"
out=data/default
if [[ -f "$out/manifest.json" ]] && grep -q '"vocab_size": 4096' "$out/manifest.json" \
   && grep -q '"format": "skipbench-prepared-data"' "$out/manifest.json"; then
  exit 0
fi
src="${SKIPBENCH_FORTUNES_DIR:-/usr/share/games/fortunes}"
[[ -d "$src" ]] || { echo "default_data: $src is missing: install Debian's fortunes (bash ci/setup.sh)"; exit 2; }
files=()
for f in "$src"/*; do
  n=${f##*/}
  [[ -f "$f" && ! -L "$f" && $n != *.* && $n != art && $n != ascii-art ]] && files+=("$f")
done
rm -rf "$out"
"$bin" data prepare --text "${files[@]}" --vocab 4096 --out "$out"
