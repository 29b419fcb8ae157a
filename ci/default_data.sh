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
src="${SKIPBENCH_FORTUNES_DIR:-/usr/share/games/fortunes}"
[[ -d "$src" ]] || { echo "default_data: $src is missing: install Debian's fortunes (bash ci/setup.sh)"; exit 2; }
files=()
for f in "$src"/*; do
  n=${f##*/}
  [[ -f "$f" && ! -L "$f" && $n != *.* && $n != art && $n != ascii-art ]] && files+=("$f")
done
# rebuilt when the source files (names and sizes) or the recipe change
sig=$( (echo "vocab 4096"; for f in "${files[@]}"; do echo "${f##*/} $(stat -c %s "$f")"; done) | md5sum | cut -d' ' -f1)
if [[ -f "$out/manifest.json" && "$(cat "$out/.sources" 2>/dev/null)" == "$sig" ]]; then
  exit 0
fi
rm -rf "$out"
"$bin" data prepare --text "${files[@]}" --vocab 4096 --out "$out"
echo "$sig" > "$out/.sources"
