"""prune_summary.py: the cpu-prune study's table (reports/studies/run_prune.sh). For each pruning case, the validation
loss increase over the unpruned dense 6-block model, per seed and as a mean with a 95% t-interval over seeds (the
unit), beside dense models of the pruned depth trained from scratch on the same tokens (cpu-fig2), so the table
answers: which blocks are redundant in a trained model, and is pruning (without healing) better than training a
smaller model? Usage: prune_summary.py OUT_DIR FIG2_RUNS_DIR  (writes OUT_DIR/summary.json and summary.md)."""
import json
import sys
from pathlib import Path

from seed_stats import interval


def main(out, fig2):
    out, fig2 = Path(out), Path(fig2)
    seeds = sorted(p.name for p in (out / "runs").iterdir() if p.is_dir())
    base = {s: json.load(open(out / "runs" / s / "unpruned.json"))["loss"] for s in seeds}
    cases = sorted({p.name for s in seeds for p in (out / "runs" / s).iterdir() if p.is_dir()})
    rows = []
    for c in cases:
        per_seed, dropped = {}, {}
        for s in seeds:
            d = out / "runs" / s / c
            if (d / "eval_soft.json").exists():
                per_seed[s] = json.load(open(d / "eval_soft.json"))["loss"] - base[s]
                dropped[s] = json.load(open(d / "prune.json"))["dropped_blocks"]
        k = len(next(iter(dropped.values())))
        scratch = []
        for s in seeds:
            r = fig2 / f"dense-n_layers_{6 - k}" / s / "run.json"
            if r.exists():
                scratch.append(json.load(open(r))["final"]["val_loss"] - base[s])
        m, lo, hi = interval(list(per_seed.values()))
        sm = interval(scratch) if scratch else (None, None, None)
        rows.append({"case": c, "blocks_dropped": k, "dropped_by_seed": dropped, "increase_by_seed": per_seed,
                     "increase_mean": m, "increase_ci95": [lo, hi], "scratch_depth": 6 - k,
                     "scratch_increase_mean": sm[0], "scratch_increase_ci95": [sm[1], sm[2]]})
    doc = {"schema": "skipbench.prune_study", "seeds": seeds, "unpruned_val_loss": base, "rows": rows,
           "note": "loss increase = pruned (no healing) minus unpruned validation loss of the same seed's dense "
                   "6-block model; scratch = a dense model of the pruned depth trained from scratch on the same "
                   "tokens minus the same unpruned loss; intervals: 95% t over seeds"}
    (out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    f = lambda x: "-" if x is None else f"{x:+.3f}"
    lines = [f"# cpu-prune: static pruning of cpu-fig2's dense 6-block models ({len(seeds)} seed{'' if len(seeds) == 1 else 's'})", "",
             "Validation loss increase over the unpruned model (nats; mean and 95% t-interval over seeds). No healing.",
             "", "| case | blocks dropped (seed 0) | increase | 95% CI | dense of that depth from scratch |",
             "|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["blocks_dropped"], r["increase_mean"])):
        first = r["dropped_by_seed"][seeds[0]] if seeds[0] in r["dropped_by_seed"] else "-"
        ci = "-" if r["increase_ci95"][0] is None else f"[{f(r['increase_ci95'][0])}, {f(r['increase_ci95'][1])}]"
        lines.append(f"| {r['case']} | {first} | {f(r['increase_mean'])} | {ci} | "
                     f"{r['scratch_depth']} blocks: {f(r['scratch_increase_mean'])} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(*sys.argv[1:3])
