#!/usr/bin/env bash
# ci/default_data.sh: build the embedded default data set in data/default if it is missing or stale: English text
# from six Debian sources that ci/setup.sh installs (fortunes, the King James Bible, the Jargon File, the Debian
# Reference, the Debian Administrator's Handbook, the Python 3.11 documentation; ~19 MB, no download at run time),
# extracted by harness/data/default_corpus.py into data/default-text/ (documents cut into paragraph chunks and
# shuffled across sources, so that any stretch of the stream is the same mix: see that file), then a 4096-piece BPE vocabulary trained on it
# with sentencepiece and llm.c shards (`skipbench data prepare`, deterministic, ~25 s on 2 cores). The manifest gains
# a "corpus" entry: each source's packages and versions, licence and SHA-256 of the files read. Idempotent: rebuilt
# only when a package version or the recipe (this script, default_corpus.py) changes.
# Usage: bash ci/default_data.sh [path/to/skipbench]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bin="${1:-build/skipbench}"
out=data/default
text=data/default-text
py=python3; [[ -x .venv/bin/python ]] && py=.venv/bin/python
packages=(fortunes fortune-anarchism fortunes-bofh-excuses fortunes-debian-hints bible-kjv bible-kjv-text jargon-text
          debian-reference-en debian-handbook python3.11-doc)
versions=$(dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}" 2>/dev/null || true)
for p in "${packages[@]}"; do
  grep -q "^$p " <<<"$versions" || { echo "default_data: Debian package $p is missing: run bash ci/setup.sh"; exit 2; }
done
sig=$( (echo "vocab 4096"; echo "$versions"; md5sum harness/data/default_corpus.py ci/default_data.sh) | md5sum | cut -d' ' -f1)
if [[ -f "$out/manifest.json" && "$(cat "$out/.sources" 2>/dev/null)" == "$sig" ]]; then
  exit 0
fi
echo "default_data: building $out from Debian packages (about 40 s)"
rm -rf "$out" "$text"
"$py" harness/data/default_corpus.py "$text"
"$bin" data prepare --text "$text/mixed.txt" --vocab 4096 --out "$out"
"$py" - "$out/manifest.json" "$text/sources.json" <<'EOF'
import json, os, sys
manifest, sources = sys.argv[1], sys.argv[2]
m = json.load(open(manifest))
m["corpus"] = json.load(open(sources))
tmp = manifest + ".tmp"
with open(tmp, "w") as f:
    json.dump(m, f, indent=2)
    f.write("\n")
os.replace(tmp, manifest)
EOF
echo "$sig" > "$out/.sources"
