#!/usr/bin/env bash
# cli_disk_full.sh: a full disk is a clean failure, and the run resumes once there is space. On a 5 MB tmpfs a run
# fits its first checkpoint (3.6 MB) but not its second: the trainer must stop with exit 2 and one line naming the
# file, leave no temporary or half-written checkpoint file, keep the previous checkpoint intact; copied to a disk
# with space, the same command resumes and its loss curve equals an uninterrupted run's bit for bit. Needs to mount
# a tmpfs (root in a namespace that allows it); skipped with its reason otherwise.
# Usage: cli_disk_full.sh path/to/skipbench   (from the repository root, with data/default built)
set -u
bin="$1"
tmp=$(mktemp -d)
mnt="$tmp/small"
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=5m tmpfs "$mnt" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN): the disk-full path is not exercised"
  rm -rf "$tmp"; exit 0
fi
trap 'umount "$mnt" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
S=(--config configs/tiny.json --set train.steps=6 --set model.n_layers=2 --set model.dim=32 --set model.max_seq_len=32
   --set train.batch_size=4 --set train.micro_batch_size=4 --set train.val_max_batches=2 --set train.checkpoint_every=2
   --set train.threads=1)
"$bin" train "${S[@]}" --out "$tmp/whole" >/dev/null 2>&1 || fail "the uninterrupted run"
"$bin" train "${S[@]}" --out "$mnt/run" >/dev/null 2>"$tmp/e"; rc=$?
if [[ $rc -ne 2 || $(grep -c . "$tmp/e" | tr -d ' ') -lt 1 ]] || ! tail -1 "$tmp/e" | grep -q "^skipbench: error: $mnt/run/checkpoint/.*: write failed .*disk full"; then
  fail "disk full: rc=$rc"; tail -3 "$tmp/e"
else echo "ok   disk full: exit 2, $(tail -1 "$tmp/e" | cut -c1-140)"; fi
grep -q "terminate called\|Aborted\|frame #" "$tmp/e" && fail "a stack dump on a full disk"
leftovers=$(find "$mnt/run" -name '*.tmp.*' -o -name 'model_4.pt' -o -name 'optim_4.pt' | wc -l)
[[ $leftovers -eq 0 ]] || { fail "temporary or half-written checkpoint files left"; find "$mnt/run"; }
python3 - "$mnt/run/checkpoint/state.json" <<'PY' || fail "the previous checkpoint is not intact"
import json, os, sys
s = json.load(open(sys.argv[1])); d = os.path.dirname(sys.argv[1])
assert s["step"] == 2 and os.path.getsize(os.path.join(d, s["model"])) > 0 and os.path.getsize(os.path.join(d, s["optimizer"])) > 0
PY
cp -a "$mnt/run" "$tmp/moved"
"$bin" train "${S[@]}" --out "$tmp/moved" >/dev/null 2>&1 || fail "resume after the disk had space again"
python3 - "$tmp/whole/run.json" "$tmp/moved/run.json" <<'PY' || fail "the resumed curve differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["train_curve"]["loss"] == b["train_curve"]["loss"] and b["resumed_from_step"] == 2
print("ok   resumed where the full disk stopped it (step 2): loss curve identical to the uninterrupted run")
PY
exit $((fails > 0))
