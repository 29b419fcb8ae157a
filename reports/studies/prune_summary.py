"""prune_summary.py: the pruning studies' tables (reports/studies/run_prune.sh: cpu-prune; run_prune_heal.sh:
peers-prune-heal). For each pruning case, the validation loss increase over the unpruned dense model (DEPTH blocks),
per seed and as a mean with a 95% t-interval over seeds (the unit), beside dense models of the pruned depth trained
from scratch on the same tokens (SCRATCH_RUNS_DIR/dense-n_layers_<depth>), so the table answers: which blocks are
redundant in a trained model, and is pruning (with or without a healing fine-tune) better than training a smaller
model? A case whose prune.json records a healing run is evaluated after healing (its eval_soft.json is the healed
run's). Usage: prune_summary.py OUT_DIR SCRATCH_RUNS_DIR [--depth 6] [--source TEXT]
(writes OUT_DIR/summary.json and summary.md)."""
import argparse
import json
from pathlib import Path

from seed_stats import interval


def main(out, fig2, depth=6, source="cpu-fig2's dense 6-block models"):
    out, fig2 = Path(out), Path(fig2)
    seeds = sorted(p.name for p in (out / "runs").iterdir() if p.is_dir())
    base = {s: json.load(open(out / "runs" / s / "unpruned.json"))["loss"] for s in seeds}
    cases = sorted({p.name for s in seeds for p in (out / "runs" / s).iterdir() if p.is_dir()})
    rows = []
    for c in cases:
        per_seed, dropped, healing = {}, {}, None
        for s in seeds:
            d = out / "runs" / s / c
            if (d / "eval_soft.json").exists():
                per_seed[s] = json.load(open(d / "eval_soft.json"))["loss"] - base[s]
                pj = json.load(open(d / "prune.json"))
                dropped[s] = pj["dropped_blocks"]
                healing = pj.get("healing") if isinstance(pj.get("healing"), dict) else None  # else "none (...)"
        k = len(next(iter(dropped.values())))
        scratch = []
        for s in seeds:
            r = fig2 / f"dense-n_layers_{depth - k}" / s / "run.json"
            if r.exists():
                scratch.append(json.load(open(r))["final"]["val_loss"] - base[s])
        m, lo, hi = interval(list(per_seed.values()))
        sm = interval(scratch) if scratch else (None, None, None)
        rows.append({"case": c, "blocks_dropped": k, "dropped_by_seed": dropped, "increase_by_seed": per_seed,
                     "healing": healing,
                     "increase_mean": m, "increase_ci95": [lo, hi], "scratch_depth": depth - k,
                     "scratch_increase_mean": sm[0], "scratch_increase_ci95": [sm[1], sm[2]]})
    doc = {"schema": "skipbench.prune_study", "seeds": seeds, "unpruned_val_loss": base, "rows": rows,
           "source": source,
           "note": f"loss increase = pruned (after healing where the case records one) minus unpruned validation "
                   f"loss of the same seed's dense {depth}-block model; scratch = a dense model of the pruned depth "
                   f"trained from scratch on the same tokens minus the same unpruned loss; intervals: 95% t over seeds"}
    (out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    f = lambda x: "-" if x is None else f"{x:+.3f}"
    healed = any(r["healing"] for r in rows)
    heal_text = lambda h: "none" if not h else f"{h['steps']} steps at {h['lr_scale']}x lr"
    lines = [f"# {out.name}: static pruning of {source} ({len(seeds)} seed{'' if len(seeds) == 1 else 's'})", "",
             "Validation loss increase over the unpruned model (nats; mean and 95% t-interval over seeds), on the "
             "whole validation split" + (", after the healing fine-tune where the row has one." if healed else
                                         ". No healing."),
             "", "| case | blocks dropped (seed 0) |" + (" healing |" if healed else "") +
             " increase | 95% CI | dense of that depth from scratch |",
             "|---|---|" + ("---|" if healed else "") + "---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["blocks_dropped"], r["increase_mean"])):
        first = r["dropped_by_seed"][seeds[0]] if seeds[0] in r["dropped_by_seed"] else "-"
        ci = "-" if r["increase_ci95"][0] is None else f"[{f(r['increase_ci95'][0])}, {f(r['increase_ci95'][1])}]"
        lines.append(f"| {r['case']} | {first} | " + (f"{heal_text(r['healing'])} | " if healed else "") +
                     f"{f(r['increase_mean'])} | {ci} | "
                     f"{r['scratch_depth']} blocks: {f(r['scratch_increase_mean'])} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("scratch_runs")
    ap.add_argument("--depth", type=int, default=6, help="blocks of the unpruned source models")
    ap.add_argument("--source", default="cpu-fig2's dense 6-block models", help="what was pruned, for the title")
    a = ap.parse_args()
    main(a.out, a.scratch_runs, a.depth, a.source)
