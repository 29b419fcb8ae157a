#!/usr/bin/env bash
# cli_disk_full.sh: a full disk is a clean failure, and the run resumes once there is space. On a 5 MB tmpfs a run
# fits its first checkpoint (3.6 MB) but not its second: the trainer must stop with exit 2 and one line naming the
# file, leave no temporary or half-written checkpoint file, keep the previous checkpoint intact; copied to a disk
# with space, the same command resumes and its loss curve equals an uninterrupted run's bit for bit. Needs to mount
# a tmpfs (root in a namespace that allows it); skipped with its reason otherwise.
# The same inside a suite (the failure recorded or reported in one line; --retry-failed after moving it finishes the
# run with the same curve) and for `data prepare` (one line naming the file, no temporary files left).
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

# ---- a suite on the full disk: its run fails cleanly; moved to a disk with space, --retry-failed finishes it ----
cat >"$tmp/suite.json" <<'EOF'
{"name": "full", "base": "configs/tiny.json", "set": {"model.n_layers": 2, "model.dim": 32, "model.max_seq_len": 32,
 "train.batch_size": 4, "train.micro_batch_size": 4, "train.val_max_batches": 2, "train.threads": 1},
 "budget": {"kind": "steps", "value": 6}, "seeds": [0], "checkpoint_every": 2, "groups": [{"name": "d"}]}
EOF
rm -rf "${mnt:?}"/*
"$bin" suite run "$tmp/suite.json" --out "$mnt/suite" --no-report >"$tmp/o" 2>"$tmp/e"; rc=$?
grep -q "terminate called\|Aborted\|frame #" "$tmp/e" && fail "suite: a stack dump on a full disk"
if [[ $rc -eq 0 ]]; then fail "suite on a full disk exited 0"; cat "$tmp/e"
elif [[ -f "$mnt/suite/runs/d/seed0/failed.json" ]] && grep -q "disk full\|write failed" "$mnt/suite/runs/d/seed0/failed.json"; then
  echo "ok   suite, disk full: the run failed with its reason recorded ($(grep -o '"reason": *"[^"]*' "$mnt/suite/runs/d/seed0/failed.json" | cut -c1-120))"
elif [[ $(tail -1 "$tmp/e") == "skipbench: error: "*"failed.json: write failed"* ]]; then
  echo "ok   suite, disk full: failed.json itself did not fit, one line: $(tail -1 "$tmp/e" | cut -c1-140)"
else fail "suite on a full disk: rc=$rc, no recorded reason"; tail -3 "$tmp/e"; fi
[[ $(find "$mnt/suite" -name '*.tmp.*' | wc -l) -eq 0 ]] || { fail "suite: temporary files left"; find "$mnt/suite" -name '*.tmp.*'; }
cp -a "$mnt/suite" "$tmp/suite_moved"
"$bin" suite run "$tmp/suite.json" --out "$tmp/suite_moved" --no-report --retry-failed >/dev/null 2>"$tmp/e" ||
  { fail "suite: --retry-failed after moving to a disk with space"; tail -3 "$tmp/e"; }
python3 - "$tmp/whole/run.json" "$tmp/suite_moved/runs/d/seed0/run.json" <<'PY' || fail "suite: the finished run's curve differs"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["train_curve"]["loss"] == b["train_curve"]["loss"], "curves differ"
print("ok   suite: after --retry-failed on a disk with space the run finishes with the uninterrupted curve")
PY

# ---- data prepare on a full disk: one line naming the file, exit 2, no temporary files ----
umount "$mnt"
mount -t tmpfs -o size=64k tmpfs "$mnt"
"$bin" data prepare --text README.md --vocab 512 --out "$mnt/data" >"$tmp/o" 2>"$tmp/e"; rc=$?
# (progress lines come first on stderr; the error is the one last line)
if [[ $rc -ne 2 ]] || [[ $(grep -c "skipbench: error" "$tmp/e") -ne 1 ]] ||
   ! tail -1 "$tmp/e" | grep -q "^skipbench: error: $mnt/data/.*\(write failed\|disk full\|No space\)"; then
  fail "data prepare, disk full: rc=$rc"; tail -3 "$tmp/e"
else echo "ok   data prepare, disk full: $(tail -1 "$tmp/e" | cut -c1-150)"; fi
[[ $(find "$mnt" -name '*.tmp.*' | wc -l) -eq 0 ]] || { fail "data prepare: temporary files left"; find "$mnt"; }
exit $((fails > 0))
