"""peers_summary.py: the peers study's early-exit table (reports/studies/run_peers.sh). For each method evaluated
at every exit depth (eval_exits.json: layerdrop runs, and dense runs exited early without training for it), per depth d: validation loss, forward FLOPs per token and measured forward time per token (median of repeats),
each as a mean over seeds, and the loss difference against the dense model of depth d trained from scratch on the
same tokens, evaluated on the same validation batches at its full depth (paired by seed; mean and 95% t-interval over seeds, the unit). A negative difference means exiting
at depth d beats training a d-block model; an interval containing 0 decides nothing.
Usage: peers_summary.py STUDY_DIR  (writes STUDY_DIR/summary.json and summary.md)."""
import json
import sys
from pathlib import Path

from seed_stats import interval


def main(study):
    study = Path(study)
    runs = study / "runs"
    dense = {}  # (depth, seed) -> the dense d-block run's loss at its full depth, on the same batches
    for p in runs.glob("dense*/seed*/eval_exits.json"):
        e = json.load(open(p))
        dense[(len(e["depths"]), p.parent.name)] = e["depths"][-1]["loss"]
    rows = []
    for cfg_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
        per_seed = {s.name: json.load(open(s / "eval_exits.json")) for s in sorted(cfg_dir.glob("seed*"))
                    if (s / "eval_exits.json").exists()}
        if not per_seed:
            continue
        depths = len(next(iter(per_seed.values()))["depths"])
        for d in range(1, depths + 1):
            loss = {s: e["depths"][d - 1]["loss"] for s, e in per_seed.items()}
            us = [e["depths"][d - 1].get("us_per_token") for e in per_seed.values()]
            us = [u for u in us if u is not None]
            diffs = [loss[s] - dense[(d, s)] for s in loss if (d, s) in dense]
            m, lo, hi = interval(diffs) if diffs else (None, None, None)
            rows.append({"configuration": cfg_dir.name, "depth": d, "seeds": sorted(loss),
                         "loss_mean": interval(list(loss.values()))[0], "loss_by_seed": loss,
                         "forward_flops_per_token": next(iter(per_seed.values()))["depths"][d - 1]["forward_flops_per_token"],
                         "us_per_token_mean": sum(us) / len(us) if us else None,
                         "vs_dense_from_scratch": {"depth": d, "pairs": len(diffs), "diff_mean": m, "ci95": [lo, hi]}})
    doc = {"schema": "skipbench.peers_exits", "rows": rows,
           "note": "loss at exit depth d (the first d blocks, then the shared output norm and head) on the first "
                   "16 validation batches; vs_dense_from_scratch = that minus the same seed's dense d-block run's "
                   "loss on the same batches; intervals: 95% t over seeds"}
    (study / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    f = lambda x: "-" if x is None else f"{x:+.3f}"
    lines = ["# peers: early exit at every depth against dense models trained at that depth", "",
             "Loss exiting after d blocks (mean over seeds), its cost, and the paired difference from the dense "
             "d-block model trained from scratch on the same tokens (nats; 95% t-interval over seeds).", "",
             "| configuration | depth | seeds | loss | FLOPs/token | µs/token | minus dense-from-scratch | 95% CI |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        v = r["vs_dense_from_scratch"]
        ci = "-" if v["ci95"][0] is None else f"[{f(v['ci95'][0])}, {f(v['ci95'][1])}]"
        us = "-" if r["us_per_token_mean"] is None else f"{r['us_per_token_mean']:.2f}"
        lines.append(f"| {r['configuration']} | {r['depth']} | {len(r['seeds'])} | {r['loss_mean']:.3f} | "
                     f"{r['forward_flops_per_token']:.3g} | {us} | {f(v['diff_mean'])} | {ci} |")
    (study / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main(sys.argv[1])
