#!/usr/bin/env bash
# cli_errors.sh: every bad input gives exactly one line "skipbench: error: ...", exit code 2, and no output dir.
# Usage: cli_errors.sh path/to/skipbench   (run from the repository root)
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import struct, sys
d = sys.argv[1]
toks = list(range(200)) * 20
with open(f"{d}/good.bin", "wb") as f:
    f.write(struct.pack("<256i", 20240520, 1, len(toks), *([0] * 253))); f.write(struct.pack(f"<{len(toks)}H", *toks))
with open(f"{d}/badmagic.bin", "wb") as f:
    f.write(struct.pack("<256i", 1234, 1, len(toks), *([0] * 253))); f.write(struct.pack(f"<{len(toks)}H", *toks))
open(f"{d}/malformed.json", "w").write('{"model": {"dim": 64,, }')
open(f"{d}/dup.json", "w").write('{"train": {"optimizer": {"default": {"lr": 0.1,\n "lr": 0.001}}}}')
open(f"{d}/dotdot.json", "w").write('{"name": "x", "base": "configs/tiny.json", "budget": {"kind": "steps", "value": 1}, '
                                    '"seeds": [0], "groups": [{"name": "..", "variant": "dense"}]}')
open(f"{d}/nan.json", "w").write('{"train": {"optimizer": {"default": {"lr": 0e3100}}}}')  # Boost.JSON reads NaN
PY
small=(--out "$tmp/out" --set model.dim=32 --set model.n_layers=2 --set model.max_seq_len=16 --set train.batch_size=2
       --set train.micro_batch_size=2 --set train.steps=1 --set model.vocab_size=257
       --set "data.train=$tmp/good.bin" --set "data.val=$tmp/good.bin")
fails=0
check() {  # name, expected substring, args...
  local name="$1" want="$2"; shift 2
  local out="$tmp/out"  # train commands write here; it must not exist afterwards
  timeout 60 "$bin" "$@" >"$tmp/stdout" 2>"$tmp/stderr"  # a hang is a failure too (rc 124)
  local rc=$?
  local lines; lines=$(wc -l <"$tmp/stderr")
  if [[ $rc -ne 2 || $lines -ne 1 || -e "$out" ]] || ! grep -q "^skipbench: error: .*$want" "$tmp/stderr"; then
    echo "FAIL $name: rc=$rc lines=$lines out_exists=$([[ -e $out ]] && echo yes || echo no)"; cat "$tmp/stderr"
    fails=$((fails + 1))
  else
    echo "ok   $name: $(cat "$tmp/stderr")"
  fi
}
check unknown_variant "unknown variant 'nope'" train --config configs/tiny.json "${small[@]}" --set variant.name=nope
check unknown_option "variant.options.foo: unknown option" train --config configs/tiny.json "${small[@]}" --set variant.options.foo=1
check unknown_key "model.dimm: unknown key" train --config configs/tiny.json "${small[@]}" --set model.dimm=3
check missing_config "cannot open file" train --config "$tmp/nope.json" "${small[@]}"
check malformed_json "malformed JSON" train --config "$tmp/malformed.json" --out "$tmp/out"
check bad_shard "magic 1234" train --config configs/tiny.json "${small[@]}" --set "data.train=$tmp/badmagic.bin"
check empty_glob "data.val: no files match" train --config configs/tiny.json "${small[@]}" --set "data.val=$tmp/none_*.bin"
check zero_dim "model.dim: must be > 0" train --config configs/tiny.json "${small[@]}" --set model.dim=0
check negative_steps "train.steps: must be > 0" train --config configs/tiny.json "${small[@]}" --set train.steps=-1
check odd_layers "even number of layers" train --config configs/tiny.json "${small[@]}" --set model.n_layers=3
check vocab "token id 199" train --config configs/tiny.json "${small[@]}" --set model.vocab_size=100
check bad_flops_mode "unknown FLOPs mode" flops --config configs/tiny.json --mode palm
check non_finite_lr "train.optimizer.default.lr: must be a finite number" train --config configs/tiny.json "${small[@]}" --set train.optimizer.default.lr=1e999
check non_finite_option "variant.options.sparsity: must be a finite number" train --config configs/tiny.json "${small[@]}" --set variant.name=forced_skip --set variant.options.sparsity=-1e999
check empty_out "--out: must not be empty" train --config configs/tiny.json --out "" --set model.dim=32 --set train.steps=1
check synth_lookback "--lookback: must be >= --span-max" data synth --out "$tmp/out" --lookback 0
"$bin" data synth --out "$tmp/syn" >/dev/null 2>&1 || echo "FAIL data synth"
check labels_length "data.val_labels: .* labels for .* validation tokens" train --config configs/tiny.json "${small[@]}" \
  --set "data.train=$tmp/syn/train_*.bin" --set "data.val=$tmp/syn/val_*.bin" --set "data.val_labels=$tmp/syn/train_labels_*.bin"
check huge_model "model: this run needs about .* GiB .* but this machine has" train --config configs/tiny.json "${small[@]}" --set model.n_layers=1e10
check typo_command "unknown command 'trian' (commands: train" trian --config configs/tiny.json
check negative_threads "--threads" train --config configs/tiny.json "${small[@]}" --threads -1
check empty_config "--config: must name a config file" train --config "" "${small[@]}"
check dir_config "is a directory, not a JSON file" train --config configs "${small[@]}"
check hard_skip_without_eval "--hard-skip: only with --eval" profile --config configs/tiny.json "${small[@]}" --hard-skip
check negative_vocab "--vocab -5: must be a positive" data prepare --text README.md --vocab -5 --out "$tmp/out"
check eval_negative_batches "--max-batches: must be >= 0" eval --run "$tmp/nope" --max-batches -3
check eval_repeat_soft "--repeat: only with --hard-skip or --exits" eval --run "$tmp/nope" --repeat 3
check eval_exits_hard "--exits: not with --hard-skip" eval --run "$tmp/nope" --exits --hard-skip
check eval_exits_missing "nope/run.json" eval --run "$tmp/nope" --exits
check layerdrop_p_max "variant.options.p_max: must be in" train --config configs/tiny.json "${small[@]}" --set variant.name=layerdrop --set variant.options.p_max=1.5
check mod_capacity "variant.options.capacity: must be in (0, 1]" train --config configs/tiny.json "${small[@]}" --set variant.name=mod --set variant.options.capacity=0
check mod_first "variant.options.first: must be in" train --config configs/tiny.json "${small[@]}" --set variant.name=mod --set variant.options.first=9
check layerdrop_stride "variant.options.exit_stride: must be >= 1" train --config configs/tiny.json "${small[@]}" --set variant.name=layerdrop --set variant.options.exit_stride=0
check eval_repeat_range "--repeat: must be in 0..1000" eval --run "$tmp/nope" --hard-skip --repeat -1
check set_leading_dot "empty key in '.model.n_layers'" train --config configs/tiny.json "${small[@]}" --set .model.n_layers=3
check set_double_dot "empty key in 'model..n_layers'" train --config configs/tiny.json "${small[@]}" --set model..n_layers=3
check config_nan "nan.json: train.optimizer.default.lr: a number out of the double range" train --config "$tmp/nan.json" "${small[@]}"
check huge_integer "train.steps: integer 12295222222222622260 is out of range" train --config configs/tiny.json "${small[@]}" --set train.steps=12295222222222622260
check huge_steps_budget "a steps budget must be a positive integer (at most 1e15)" train --config configs/tiny.json "${small[@]}" --set train.budget.kind=steps --set train.budget.value=1e36
check negative_seed "train.seed: must be >= 0, got -1" train --config configs/tiny.json "${small[@]}" --set train.seed=-1
check duplicate_key "dup.json:2:2: duplicate key \"lr\"" train --config "$tmp/dup.json" "${small[@]}"
check group_dotdot "groups\[0\].name: '..' names a folder" suite run "$tmp/dotdot.json" --out "$tmp/out"
mkfifo "$tmp/fifo_000.bin"  # open() on it used to wait forever for a writer
check fifo_shard "fifo_000.bin: not a regular file" train --config configs/tiny.json "${small[@]}" --set "data.train=$tmp/fifo_*.bin"
check import_skip_middle_missing "nope/config.json: cannot open file" import skip-middle "$tmp/nope" --out "$tmp/imp"
check import_gguf_missing_file "nope.gguf: no such GGUF file" import gguf "$tmp/nope.gguf" --out "$tmp/imp" --no-data
check layer_ablation_missing_run "nope/run.json: cannot open file" layer-ablation --run "$tmp/nope" --out "$tmp/abl"
check logits_batches "--batches: must be >= 1, got 0" logits --run "$tmp/nope" --out "$tmp/l.safetensors" --batches 0
# a run that diverged (lr 1e30: exit 3, run.json status "diverged") is no trained model for eval, prune or init_from
"$bin" train --config configs/tiny.json "${small[@]:2}" --out "$tmp/diverged" --set variant.name=dense \
  --set train.optimizer.default.lr=1e30 --set train.steps=4 >/dev/null 2>&1
grep -q '"diverged"' "$tmp/diverged/run.json" 2>/dev/null || { echo "FAIL diverged_setup: no diverged run"; fails=$((fails + 1)); }
check eval_diverged 'diverged/run.json: the run is "diverged", its weights are not a trained model to evaluate' eval --run "$tmp/diverged"
check prune_diverged 'the run is "diverged", not a trained model to prune' prune --run "$tmp/diverged" --drop 1 --out "$tmp/out"
check init_from_diverged 'the run is "diverged", not a trained model to start from' train --config configs/tiny.json "${small[@]}" \
  --set variant.name=dense --set "train.init_from=$tmp/diverged"
check prune_method "--method: expected influence (ShortGPT) or span" prune --run "$tmp/nope" --drop 1 --method random --out "$tmp/out"
check prune_missing_run "nope/run.json: cannot open file" prune --run "$tmp/nope" --drop 1 --out "$tmp/out"
check prune_blocks_count "--blocks: name exactly --drop blocks (2), got 1" prune --run "$tmp/nope" --drop 2 --blocks 1 --out "$tmp/out"
check calibrate_sims "--sims: must be >= 10" claims calibrate --sims 3
check calibrate_unknown "unrecognized arguments" claims calibrate --bogus
exit $((fails > 0))
