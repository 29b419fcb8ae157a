#!/usr/bin/env python3
"""Run the hard-skip benchmark and write its table into benchmarks/RESULTS.md.

Usage: python3 profiling/bench/run_hard_skip.py [--bin build/skipbench_bench_hard_skip] [--repetitions 3]
                                                [--filter REGEX] [--json OUT.json]
Medians over repetitions; realised saving = 1 - t(hard skip at s) / t(dense); ratio = realised / estimated.
The section between the markers <!-- hard-skip:begin --> and <!-- hard-skip:end --> is replaced (per device).
"""
import sys
sys.path.insert(0, __import__("os").path.dirname(__file__))
import results_md  # noqa: E402
import argparse, json, os, platform, re, statistics, subprocess, sys, datetime

ap = argparse.ArgumentParser()
ap.add_argument("--bin", default="build/skipbench_bench_hard_skip")
ap.add_argument("--repetitions", type=int, default=3)
ap.add_argument("--filter", default=".")
ap.add_argument("--json", default="")
ap.add_argument("--results", default="benchmarks/RESULTS.md")
ap.add_argument("--device-label", default="")
ap.add_argument("--from-json", default="", help="re-tabulate a saved benchmark JSON instead of running")
a = ap.parse_args()

if a.from_json:
    out = open(a.from_json).read()
else:
    out = subprocess.run([a.bin, "--benchmark_format=json", f"--benchmark_repetitions={a.repetitions}",
                          f"--benchmark_filter={a.filter}"], check=True, capture_output=True, text=True).stdout
data = json.loads(out)
if a.json and not a.from_json:
    open(a.json, "w").write(out)

runs = {}
for b in data["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    runs.setdefault(b["run_name"].split("/iterations")[0], []).append(b)

def med(name):
    rs = runs[name]
    return statistics.median(r["real_time"] for r in rs), rs[0]

rows = []
shapes = []
for name in runs:
    sh = name.split("/")[0]
    if sh not in shapes:
        shapes.append(sh)
for shape in shapes:
    dense = f"{shape}/dense"
    if dense not in runs:
        continue
    t_dense, _ = med(dense)
    rows.append((shape, "dense", 0.0, 0.0, t_dense, 0.0, None, None))
    for pattern in ("uniform", "mixed"):
        for name in sorted(n for n in runs if n.startswith(f"{shape}/{pattern}/")):
            t, r = med(name)
            est = r["est_saving"]
            real = 1 - t / t_dense
            rows.append((shape, pattern, r["sparsity"], est, t, real, real / est if est > 0 else None,
                         r.get("executed_fraction")))

commit = results_md.commit()
ctx = data.get("context", {})
device = a.device_label or f"CPU: {ctx.get('num_cpus', '?')} cores @ {ctx.get('mhz_per_cpu', '?')} MHz ({platform.processor() or platform.machine()})"
date = datetime.date.today().isoformat()
lines = [f"### Hard skip vs FLOPs estimate: {device}",
         "",
         f"Commit `{commit}`, {date}, `{' '.join(os.path.basename(x) for x in [a.bin])}`, median of {a.repetitions} repetitions; "
         "forward only, no gradients; times in ms per batch (tiny-T*: 2048 tokens per batch, paper-12l: 1 x 1024). "
         "uniform: every sequence the same pattern; mixed: forced_skip row_spread 1 (each sequence its own "
         "sparsity, from fully computed to twice the mean). executed = block FLOPs run / dense block FLOPs "
         "(packed shapes).",
         "",
         "| shape | pattern | sparsity | est. saving | median ms | realised saving | realised / estimated | executed |",
         "|---|---|---|---|---|---|---|---|"]
for shape, path, s, est, t, real, ratio, ex in rows:
    lines.append(f"| {shape} | {path} | {s:.3f} | {est:.3f} | {t:.1f} | {real:.3f} | "
                 f"{'' if ratio is None else f'{ratio:.2f}'} | {'' if ex is None else f'{ex:.3f}'} |")
print(results_md.replace_section(a.results, "hard-skip", device, lines))
