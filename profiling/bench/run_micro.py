#!/usr/bin/env python3
"""Run the micro-benchmarks (build/skipbench_bench_blocks) and write their table into benchmarks/RESULTS.md.

Usage: python3 profiling/bench/run_micro.py [--bin build/skipbench_bench_blocks] [--repetitions 3] [--from-json F]
Medians over repetitions. The section between <!-- micro:begin DEVICE --> and <!-- micro:end DEVICE --> is replaced.
"""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
import results_md  # noqa: E402
import argparse, datetime, json, os, platform, re, statistics, subprocess

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/skipbench_bench_blocks")
ap.add_argument("--repetitions", type=int, default=3)
ap.add_argument("--from-json", default="")
ap.add_argument("--json", default="")
ap.add_argument("--results", default="benchmarks/RESULTS.md")
ap.add_argument("--device-label", default="")
a = ap.parse_args()
out = open(a.from_json).read() if a.from_json else subprocess.run(
    [a.bin, "--benchmark_format=json", f"--benchmark_repetitions={a.repetitions}"],
    check=True, capture_output=True, text=True).stdout
if a.json and not a.from_json:
    open(a.json, "w").write(out)
data = json.loads(out)
runs = {}
for b in data["benchmarks"]:
    if b.get("run_type") == "iteration":
        runs.setdefault(b["run_name"], []).append(b)
ctx = data.get("context", {})
device = a.device_label or f"CPU: {ctx.get('num_cpus', '?')} cores @ {ctx.get('mhz_per_cpu', '?')} MHz ({platform.machine()})"
commit = results_md.commit()
lines = [f"### Micro-benchmarks: {device}", "",
         f"Commit `{commit}`, {datetime.date.today().isoformat()}, median of {a.repetitions} repetitions.", "",
         "| benchmark | what | median time | unit | tokens/s |", "|---|---|---|---|---|"]
for name, rs in runs.items():
    t = statistics.median(r["real_time"] for r in rs)
    tps = rs[0].get("tokens_per_s")
    tps = f"{statistics.median(r['tokens_per_s'] for r in rs):,.0f}" if tps else ""
    lines.append(f"| `{name.split('/min_time')[0].split('/real_time')[0]}` | {rs[0].get('label', '')} | {t:.3f} | {rs[0]['time_unit']} | {tps} |")
print(results_md.replace_section(
    a.results, "micro", device, lines,
    "## Micro-benchmarks (issue 5)\n\nCommand: `python3 profiling/bench/run_micro.py` (raw JSON: `benchmarks/micro_cpu.json`). "
    "Block = one decoder block (sandwich norms, SwiGLU 4x); gated = a per-token gate multiplies both sub-layers, `key` "
    "adds ln(g) to the attention logits (the paper's masking), `none` does not."))
