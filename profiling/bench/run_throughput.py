#!/usr/bin/env python3
"""run_throughput.py: skipbench's training throughput on the paper's model, dense and gated, per attention path,
with MFU and peak memory, for the side-by-side against the released PyTorch code (reference_throughput.py).

What: for each (variant, attention path) trains W + N optimizer steps of configs/paper-12l.json (12 layers, dim 768,
seq 1024, micro-batch 32, batch 512) with `skipbench train` on random-token shards of the paper's GPT-2 vocabulary
(50257; made once with `skipbench data synth`), bf16 autocast, fused AdamW, and reads each run.json: tokens/s at the
median step (the first step excluded), MFU (standard training FLOPs per token x tokens/s / the GPU's dense bf16
peak, from profiling/device_peaks.cpp), peak device memory, and the SDPA kernel LibTorch chose. Writes
DIR/throughput.json and, with --results, a section of benchmarks/RESULTS.md per device.

Why: issue 7's targets (>= 1.3x the reference's tokens/s; >= 41% MFU dense) are measured here; the reference side
comes from reference_throughput.py on the same GPU in the same session.

Usage (GPU machine): python3 profiling/bench/run_throughput.py --out runs/throughput --results benchmarks/RESULTS.md
      (CPU check):   python3 profiling/bench/run_throughput.py --smoke --out /tmp/tp
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import results_md  # noqa: E402

VARIANTS = {  # name -> config overrides (the paper preset is the gated model with its proportional controller)
    "dense": ["variant.name=dense", "train.controller.name=none", "train.controller.options={}"],
    "gated": [],
}


def sh(cmd, log):
    with open(log, "w") as f:
        r = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = open(log).read()[-2000:]
        raise SystemExit(f"run_throughput: {' '.join(cmd[:3])} ... failed (exit {r.returncode}); see {log}:\n{tail}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--skipbench", default="build/skipbench")
    ap.add_argument("--config", default="configs/paper-12l.json")
    ap.add_argument("--steps", type=int, default=10, help="measured optimizer steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--variants", default="dense,gated")
    ap.add_argument("--impls", default="sdpa,sdpa_mask,math", help="model.attention_impl values to compare")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--set", action="append", default=[], help="extra config override for every run")
    ap.add_argument("--out", default="runs/throughput")
    ap.add_argument("--results", default="", help="update this RESULTS.md (a section per device)")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes on CPU: checks the script, not a measurement")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    vocab, seq, batch, micro = 50257, 1024, 512, 32
    extra = list(a.set)
    if a.smoke:
        vocab, seq, batch, micro = 512, 64, 4, 2
        a.device, a.precision, a.steps, a.warmup = "cpu", "fp32", 2, 1
        extra += ["model.n_layers=4", "model.dim=64", "model.n_heads=4", f"model.max_seq_len={seq}",
                  "train.threads=2"]
    steps = a.warmup + a.steps
    data = os.path.join(a.out, f"data-{vocab}")
    if not os.path.exists(os.path.join(data, "val_000.bin")):
        sh([a.skipbench, "data", "synth", "--out", data, "--vocab", str(vocab), "--copy-frac", "0",
            "--train-tokens", str(steps * batch * seq + seq + 1), "--val-tokens", str(micro * seq + 1)],
           os.path.join(a.out, "data.log"))
    rows = []
    for variant in a.variants.split(","):
        for impl in a.impls.split(","):
            name = f"{variant}-{impl}"
            run = os.path.join(a.out, name)
            if not os.path.exists(os.path.join(run, "run.json")):
                sets = VARIANTS[variant] + [
                    f"model.attention_impl={impl}", f"model.vocab_size={vocab}", f"train.precision={a.precision}",
                    f"train.device={a.device}", f"train.steps={steps}", "train.budget.value=null",
                    f"train.batch_size={batch}", f"train.micro_batch_size={micro}", "train.val_every=0",
                    "train.val_max_batches=1", "train.checkpoint_every=0", "train.log_every=1",
                    f"data.train={data}/train_*.bin", f"data.val={data}/val_*.bin"] + extra
                cmd = [a.skipbench, "train", "--config", a.config, "--out", run]
                for s in sets:
                    cmd += ["--set", s]
                sh(cmd, run + ".log")
            rep = json.load(open(os.path.join(run, "run.json")))
            t, ex = rep["timing"], rep.get("execution", {})
            steps_s = rep["train_curve"]["step"]
            mfu = t.get("mfu") or {}
            rows.append({"name": name, "variant": variant, "attention_impl": impl,
                         "tokens_per_s": t["tokens_per_s"], "median_step_s": t["median_step_s"],
                         "mfu": mfu.get("mfu"), "peak_flops": mfu.get("peak_flops"),
                         "peak_entry": mfu.get("peak_entry"), "flops_per_token": mfu.get("flops_per_token"),
                         "peak_device_memory_bytes": t.get("peak_device_memory_bytes"),
                         "sdpa_kernel": ex.get("sdpa_kernel"), "precision": ex.get("precision"),
                         "optimizer_impl": ex.get("optimizer_impl"), "steps": len(steps_s),
                         "final_train_loss": rep["final"]["train_loss"]})
    prov = rep["provenance"]
    gpus = prov.get("hardware", {}).get("gpus") or []
    device = (gpus[0].get("name") if gpus else None) or f"CPU ({prov.get('hardware', {}).get('cpu', '?')})"
    summary = {"schema": "skipbench.throughput", "schema_version": 1, "device": device,
               "commit": results_md.commit(), "config": a.config, "warmup_steps": a.warmup,
               "measured_steps": a.steps, "batch": batch, "micro_batch": micro, "seq_len": seq, "vocab": vocab,
               "smoke": a.smoke, "runs": rows}
    tmp = os.path.join(a.out, "throughput.json.tmp")
    json.dump(summary, open(tmp, "w"), indent=2)
    os.replace(tmp, os.path.join(a.out, "throughput.json"))
    lines = [f"### Training throughput: {device}", "",
             f"Commit `{summary['commit']}`, `{a.config}`, {a.precision}, batch {batch} x {seq} (micro-batch {micro}), "
             f"vocab {vocab}, median of {a.steps + a.warmup - 1} steps (first excluded). Command: "
             f"`python3 profiling/bench/run_throughput.py --results benchmarks/RESULTS.md`.", "",
             "| run | attention | SDPA kernel | tokens/s | MFU | peak memory GiB | step s |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        mem = r["peak_device_memory_bytes"]
        mfu = "-" if r["mfu"] is None else "%.1f%%" % (100 * r["mfu"])
        gib = "-" if mem is None else "%.1f" % (mem / 2**30)
        lines.append(f"| {r['variant']} | {r['attention_impl']} | {r['sdpa_kernel']} | {r['tokens_per_s']:,.0f} | "
                     f"{mfu} | {gib} | {r['median_step_s']:.3f} |")
    print("\n".join(lines))
    if a.results and not a.smoke:
        results_md.replace_section(a.results, "throughput", device, lines, "## Training throughput (issue 7)")


if __name__ == "__main__":
    main()
