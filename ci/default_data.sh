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
# data/default-1m: the first 1,000,000 training tokens of data/default (the same tokenizer and validation split),
# for ablations/overfit.json (the paper's architectural sanity check: both models must be able to overfit it)
make_subset() {
"$py" - "$out" data/default-1m 1000000 <<'EOF2'
import os, shutil, struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(src, "train_000000.bin"), "rb") as f:
    head = struct.unpack("<256i", f.read(1024))
    toks = f.read(2 * n)
assert head[0] == 20240520 and head[2] >= n, "data/default/train_000000.bin: not an llm.c shard of >= 1M tokens"
shutil.rmtree(dst, ignore_errors=True)
os.makedirs(dst)
tmp = os.path.join(dst, "train_000000.bin.tmp")
with open(tmp, "wb") as f:
    f.write(struct.pack("<256i", *((20240520, 1, n) + head[3:])))
    f.write(toks)
os.replace(tmp, os.path.join(dst, "train_000000.bin"))
for name in ("val_000000.bin", "tokenizer.model"):
    shutil.copy(os.path.join(src, name), os.path.join(dst, name))
EOF2
}
if [[ -f "$out/manifest.json" && "$(cat "$out/.sources" 2>/dev/null)" == "$sig" ]]; then
  [[ -f data/default-1m/train_000000.bin && data/default-1m/train_000000.bin -nt "$out/.sources" ]] || make_subset
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
make_subset
