#!/usr/bin/env bash
# cli_data.sh: `skipbench data prepare` and `skipbench data inspect` as a user runs them: prepare two text files
# (one blank-line separated, one fortune-style with '%' lines, passed as a quoted glob), check the manifest against
# the shards, inspect (text and JSON), spot a corrupt shard (exit 1), refuse bad input (exit 2, one error line),
# then train a few steps on the prepared data.
# Usage: cli_data.sh path/to/skipbench   (run from the repository root)
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

python3 - "$tmp" <<'PY'
import random, sys
d = sys.argv[1]
rng = random.Random(5)
syl = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "us", "ing", "th", "er", "st", "ou", "ch"]
def doc():
    lines = []
    for _ in range(rng.randint(1, 3)):
        words = ["".join(rng.choice(syl) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(4, 12))]
        if rng.random() < 0.1: words.append(rng.choice(["café", "naïve", "東京"]))
        lines.append(" ".join(words))
    return "\n".join(lines) + "\n"
open(f"{d}/a.txt", "w", encoding="utf-8").write("\n".join(doc() for _ in range(300)))
open(f"{d}/b.txt", "w", encoding="utf-8").write("%\n".join(doc() for _ in range(200)))
PY

# ---- prepare ----
"$bin" data prepare --text "$tmp/*.txt" --vocab 400 --out "$tmp/data" --threads 2 --shard-tokens 3000 \
  >"$tmp/prep.out" 2>"$tmp/prep.err"
rc=$?
if [[ $rc -eq 0 && -f "$tmp/data/manifest.json" && -f "$tmp/data/tokenizer.model" && -f "$tmp/data/train_000000.bin" ]] \
   && grep -q "500 documents (25 validation)" "$tmp/prep.out"; then
  ok "prepare: $(head -1 "$tmp/prep.out")"
else
  fail "prepare rc=$rc"; cat "$tmp/prep.out" "$tmp/prep.err"
fi
python3 - "$tmp/data" <<'PY' && ok "manifest matches the shards on disk" || fail "manifest"
import glob, json, os, struct, sys
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json"))
assert m["vocab_size"] == 400 and m["eot_token"] == 1 and m["tokenizer"] == "tokenizer.model", m
for split in ("train", "val"):
    files = sorted(glob.glob(f"{d}/{split}_*.bin"))
    total = 0
    for f in files:
        magic, version, count = struct.unpack("<3i", open(f, "rb").read(12))
        assert (magic, version) == (20240520, 1) and os.path.getsize(f) == 1024 + 2 * count, f
        total += count
    assert total == m["tokens"][split], (split, total, m["tokens"])
assert [s["path"].endswith(n) for s, n in zip(m["sources"], ("a.txt", "b.txt"))] == [True, True]
assert m["sources"][1]["documents"] == 200
assert len(m["shards"]) == len(glob.glob(f"{d}/*.bin"))
PY

# ---- inspect ----
"$bin" data inspect "$tmp/data" >"$tmp/insp.out" 2>&1
rc=$?
if [[ $rc -eq 0 ]] && grep -q "vocabulary: 400" "$tmp/insp.out" && grep -q "^sample" "$tmp/insp.out" \
   && grep -q "<|endoftext|>" "$tmp/insp.out"; then
  ok "inspect: $(grep '^total' "$tmp/insp.out")"
else
  fail "inspect rc=$rc"; cat "$tmp/insp.out"
fi
"$bin" data inspect "$tmp/data/train_*.bin" --json >"$tmp/insp.json" 2>&1
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert not r['problems'] and r['vocab_size']==400 and r['invalid_shards']==0" \
  "$tmp/insp.json" && ok "inspect --json" || { fail "inspect --json"; cat "$tmp/insp.json"; }
mkdir "$tmp/bad"
head -c 2000 "$tmp/data/train_000000.bin" >"$tmp/bad/cut.bin"
"$bin" data inspect "$tmp/bad" >"$tmp/bad.out" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "INVALID: truncated shard" "$tmp/bad.out" && ok "inspect flags a truncated shard (exit 1)" \
  || { fail "corrupt shard rc=$rc"; cat "$tmp/bad.out"; }

# ---- errors: exit 2, one line ----
check() {  # name, expected substring, args...
  local name="$1" want="$2"; shift 2
  "$bin" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$? lines; lines=$(grep -c "^skipbench: error" "$tmp/stderr")
  if [[ $rc -eq 2 && $lines -eq 1 ]] && grep -q "^skipbench: error: .*$want" "$tmp/stderr"; then
    ok "$name: $(grep '^skipbench: error' "$tmp/stderr")"
  else
    fail "$name: rc=$rc"; cat "$tmp/stderr"
  fi
}
check vocab_too_large "--vocab 70000: shards store uint16 ids" data prepare --text "$tmp/a.txt" --vocab 70000 --out "$tmp/x"
check missing_text "nope.txt: no such file" data prepare --text "$tmp/nope.txt" --vocab 400 --out "$tmp/x"
check foreign_out "not a .skipbench data prepare. output" data prepare --text "$tmp/a.txt" --vocab 400 --out "$tmp/bad"
check no_vocab "--vocab N is required" data prepare --text "$tmp/a.txt" --out "$tmp/x"
check inspect_nothing "no files match" data inspect "$tmp/none_*.bin"
[[ -e "$tmp/x" ]] && fail "a failed prepare left $tmp/x" || ok "failed prepares leave no output"

# ---- train on it ----
"$bin" train --config configs/tiny.json --out "$tmp/run" --set model.vocab_size=400 --set model.dim=32 \
  --set model.n_layers=2 --set model.max_seq_len=32 --set train.steps=3 --set train.batch_size=4 \
  --set train.micro_batch_size=4 --set train.val_every=3 --set train.val_max_batches=2 \
  --set "data.train=$tmp/data/train_*.bin" --set "data.val=$tmp/data/val_*.bin" >"$tmp/train.out" 2>&1
rc=$?
[[ $rc -eq 0 && -f "$tmp/run/run.json" ]] && ok "train 3 steps on the prepared data" || { fail "train rc=$rc"; cat "$tmp/train.out"; }

echo "$fails failure(s)"
[[ $fails -eq 0 ]]
