#!/usr/bin/env python3
"""run_cpu_step.py: skipbench's CPU training step next to the released code's eager PyTorch step, side by side.

Answers: on this CPU, at fp32 (the same numerics on both sides), how many tokens/s does skipbench's training step
reach against the paper's released code (tim-lawson/skip-middle, as released, eager), for the dense and the gated
model? Each round runs every (side, variant) once, interleaved (so drift in machine load hits all of them alike),
each in its own process with the same thread count; a side's figure is the median step time of its measured
steps, and the reported figure is the median over rounds, with the ratio skipbench / reference per round.

Shape (the issue's "tiny"): 12 layers, dim 128, 4 heads, T = 128, 16 sequences per step (one micro-batch), vocab
4096, the embedded data (data/default). The released side is driven by profiling/bench/reference_throughput.py
(its as_released step: autocast is CUDA-only, so fp32 on CPU, with its per-step logging). The skipbench side is
`skipbench train` (its default metrics every step); gated runs use attention_gate `reference` by default, the
released query-indexed term, so both sides compute the same function (--attention-gate key for the paper's).

Usage: .venv/bin/python profiling/bench/run_cpu_step.py [--rounds 3] [--steps 10] [--warmup 3] [--threads 2]
         [--attention-impl math] [--json benchmarks/cpu_step.json] [--results benchmarks/RESULTS.md]
       .venv/bin/python profiling/bench/run_cpu_step.py --from-json benchmarks/cpu_step.json --results benchmarks/RESULTS.md
Needs the reference export: bash ci/gpu/fetch_reference.sh (after a fetch of github:tim-lawson/skip-middle).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import results_md  # noqa: E402

SHAPE = dict(dim=128, n_layers=12, n_heads=4, vocab_size=4096, max_seq_len=128, batch=16)


def skipbench_step_times(a, variant, tmp, extra_env=None):
    out = os.path.join(tmp, f"sb-{variant}")
    gated = variant != "dense"
    cfg = {"model": {"vocab_size": SHAPE["vocab_size"], "dim": SHAPE["dim"], "n_layers": SHAPE["n_layers"],
                     "n_heads": SHAPE["n_heads"], "max_seq_len": SHAPE["max_seq_len"],
                     "attention_impl": a.attention_impl},
           "variant": {"name": "skip_middle", "options": {"attention_gate": a.attention_gate}} if gated
           else {"name": "dense"},
           "train": {"steps": a.warmup + a.steps, "batch_size": SHAPE["batch"], "micro_batch_size": SHAPE["batch"],
                     "val_every": 0, "val_max_batches": 1, "log_every": 1000, "threads": a.threads,
                     "precision": "fp32", "optimizer": {"default": {"lr": 1e-3}},
                     # the released gated runs' controller (scripts/train_fineweb_gated_*.sh)
                     "controller": {"name": "proportional", "options": {"mean_target_start": 1.0,
                                                                        "mean_target_end": 0.5,
                                                                        "coef_update_multiplier": 1e-3}}
                     if gated else {"name": "none"}},
           "data": {"train": "data/default/train_*.bin", "val": "data/default/val_*.bin"}}
    for k, v in (extra_env or {}).items():  # set.a.b=value: a config override of this side
        if k.startswith("set."):
            *parents, leaf = k[4:].split(".")
            node = cfg
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = json.loads(v) if v[:1] in "0123456789-[{tf" else v
    path = os.path.join(tmp, f"sb-{variant}.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    binary = (extra_env or {}).get("bin", a.bin)  # bin=PATH: another build (an A/B of two commits)
    run_or_explain([binary, "train", "--config", path, "--out", out], env(a, extra_env))
    steps = [json.loads(l) for l in open(os.path.join(out, "metrics.jsonl")) if '"kind":"train"' in l]
    return [s["step_s"] for s in steps][a.warmup:]


def reference_step_times(a, variant, tmp, extra_env=None):
    out = os.path.join(tmp, f"ref-{variant}.json")
    cmd = [sys.executable, "profiling/bench/reference_throughput.py", "--reference-dir", a.reference_dir,
           "--variants", variant, "--modes", "as_released", "--device", "cpu",
           "--dim", str(SHAPE["dim"]), "--n-layers", str(SHAPE["n_layers"]), "--n-heads", str(SHAPE["n_heads"]),
           "--vocab-size", str(SHAPE["vocab_size"]), "--max-seq-len", str(SHAPE["max_seq_len"]),
           "--device-batch-size", str(SHAPE["batch"]), "--batch-size", str(SHAPE["batch"]),
           "--tokens", "data/default/train_*.bin", "--warmup", str(a.warmup), "--steps", str(a.steps), "--out", out]
    run_or_explain(cmd, env(a, extra_env))
    run = json.load(open(out))["runs"][0]
    if run.get("status") not in (None, "ok"):
        raise RuntimeError(f"reference {variant}: {run.get('status')}: {run.get('error')}")
    return run["step_s"]["all"]


def run_or_explain(cmd, environment):
    """Run a side's process; on failure exit with its command and the end of its output (not a bare traceback)."""
    p = subprocess.run(cmd, capture_output=True, text=True, env=environment)
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-8:])
        sys.exit(f"run_cpu_step: {' '.join(cmd[:3])} ... exited {p.returncode}:\n{tail}")


def env(a, extra=None):
    e = dict(os.environ)
    e["OMP_NUM_THREADS"] = str(a.threads)
    e.update({k: v for k, v in (extra or {}).items() if not k.startswith("set.") and k != "bin"})
    return e


def parse_side(text):
    """NAME=reference|skipbench[:K=V,K=V]: another configuration measured in the same rounds (attribution).
    K=V are environment variables; for skipbench, set.a.b=V overrides config key a.b (e.g. set.train.precision=bf16)
    and bin=PATH runs another skipbench binary (e.g. one built from an earlier commit: an A/B in the same rounds)."""
    name, rest = text.split("=", 1)
    kind, _, envs = rest.partition(":")
    if kind not in ("reference", "skipbench"):
        raise SystemExit(f"--side {text}: expected NAME=reference|skipbench[:K=V,...]")
    return name, kind, dict(kv.split("=", 1) for kv in envs.split(",") if kv)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="build/skipbench")
    ap.add_argument("--reference-dir", default=".reference/skip-middle")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", default="dense,gated")
    ap.add_argument("--attention-impl", default="math", help="skipbench's model.attention_impl (math, sdpa, sdpa_mask)")
    ap.add_argument("--attention-gate", default="reference", help="skipbench's gated runs: reference (same function "
                                                                   "as the released code) or key (the paper's)")
    ap.add_argument("--side", action="append", default=[],
                    help="NAME=reference|skipbench[:K=V,...]: another configuration in the same rounds, e.g. "
                         "'sb-system-malloc=skipbench:SKIPBENCH_HOST_ALLOC=system' or 'old=skipbench:bin=/tmp/old/skipbench' "
                         "(repeatable)")
    ap.add_argument("--json", default="")
    ap.add_argument("--results", default="", help="update this RESULTS.md section (e.g. benchmarks/RESULTS.md)")
    ap.add_argument("--label", default="", help="a name for this configuration in RESULTS.md")
    ap.add_argument("--from-json", default="", help="measure nothing: write --results from this saved --json document")
    a = ap.parse_args()
    if a.from_json:
        if not a.results:
            sys.exit("run_cpu_step: --from-json needs --results (the RESULTS.md to update)")
        write_results(json.load(open(a.from_json)), a.results, a.label)
        return
    if not glob.glob("data/default/train_*.bin"):
        sys.exit("run_cpu_step: no data/default/train_*.bin: build the embedded data first (bash ci/default_data.sh build/skipbench)")
    if not os.path.isfile(os.path.join(a.reference_dir, "projects/skip_middle/train/train.py")):
        sys.exit(f"run_cpu_step: no reference export at {a.reference_dir}: bash ci/gpu/fetch_reference.sh")
    variants = a.variants.split(",")
    commit = results_md.commit()  # at the start: the build being measured
    tokens = SHAPE["batch"] * SHAPE["max_seq_len"]
    fns = {"reference": reference_step_times, "skipbench": skipbench_step_times}
    sides = [("reference", "reference", {}), ("skipbench", "skipbench", {})] + [parse_side(x) for x in a.side]
    for b in [a.bin] + [extra["bin"] for _, _, extra in sides if "bin" in extra]:
        if not os.access(b, os.X_OK):
            sys.exit(f"run_cpu_step: no skipbench binary at {b} (bash ci/build.sh, or --bin / bin= PATH)")
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            res = {}
            for v in variants:
                for side, kind, extra in sides:
                    d = os.path.join(tmp, f"r{r}-{side}")
                    os.makedirs(d, exist_ok=True)
                    t = fns[kind](a, v, d, extra)
                    res[f"{side}/{v}"] = {"median_step_s": statistics.median(t), "steps": t}
                    print(f"round {r} {side:9s} {v:5s}: {tokens / statistics.median(t):8.0f} tokens/s", file=sys.stderr)
            rounds.append(res)
    summary = {}
    for v in variants:
        # per round: skipbench tokens/s over the released code's = reference step time / skipbench step time
        ratios = [rd[f"reference/{v}"]["median_step_s"] / rd[f"skipbench/{v}"]["median_step_s"] for rd in rounds]
        summary[v] = {side: tokens / statistics.median(rd[f"{side}/{v}"]["median_step_s"] for rd in rounds)
                      for side, _, _ in sides}
        summary[v]["ratio_median"] = statistics.median(ratios)
        summary[v]["ratio_min"], summary[v]["ratio_max"] = min(ratios), max(ratios)
    doc = {"schema": "skipbench.cpu_step", "date": datetime.date.today().isoformat(), "commit": commit,
           "cpu": platform.processor() or platform.machine(), "cpu_model": cpu_model(), "cores": os.cpu_count(),
           "threads": a.threads,
           "shape": SHAPE, "rounds": a.rounds, "warmup": a.warmup, "steps": a.steps,
           "attention_impl": a.attention_impl, "attention_gate": a.attention_gate,
           "sides": {name: {"kind": kind, "env": extra} for name, kind, extra in sides}, "summary": summary,
           "per_round": rounds}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    print(json.dumps(summary, indent=1))
    if a.results:
        write_results(doc, a.results, a.label)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def write_results(doc, results, label=""):
    """The RESULTS.md section (between its cpu-step markers) from a measurement's JSON document."""
    shape, summary, variants = doc["shape"], doc["summary"], list(doc["summary"])
    label = label or f"attention_impl {doc['attention_impl']}, gated attention_gate {doc['attention_gate']}"
    device = f"CPU {doc['cores']} cores, {label}"
    lines = [f"### Training step vs the released code: {device}", "",
             f"Commit `{doc['commit']}`, {doc['date']}, {doc.get('cpu_model', doc['cpu'])}; {shape['n_layers']} layers, "
             f"dim {shape['dim']}, {shape['batch']} x {shape['max_seq_len']} tokens per step, fp32, {doc['threads']} "
             f"threads; median step over {doc['steps']} steps after {doc['warmup']}, median over {doc['rounds']} "
             f"interleaved rounds (`python3 profiling/bench/run_cpu_step.py`).", "",
             "| variant | released code (tokens/s) | skipbench (tokens/s) | skipbench / released: median (min-max over rounds) |",
             "|---|---|---|---|"]
    for v, s in summary.items():
        lines.append(f"| {v} | {s['reference']:,.0f} | {s['skipbench']:,.0f} | {s['ratio_median']:.2f}x "
                     f"({s['ratio_min']:.2f}-{s['ratio_max']:.2f}) |")
    others = [(n, d) for n, d in doc["sides"].items() if n not in ("reference", "skipbench")]
    if others:
        lines += ["", "Other configurations in the same rounds (tokens/s, median over rounds):", "",
                  "| configuration | side | environment / config | " + " | ".join(variants) + " |",
                  "|---|---|---|" + "---|" * len(variants)]
        for name, d in others:
            envs = ", ".join(f"`{k[4:] + '=' + v if k.startswith('set.') else k + '=' + v}`"
                             for k, v in d["env"].items()) or "-"
            lines.append(f"| {name} | {d['kind']} | {envs} | " +
                         " | ".join(f"{summary[v][name]:,.0f}" for v in variants) + " |")
    results_md.replace_section(results, "cpu-step", device, lines)


if __name__ == "__main__":
    main()
