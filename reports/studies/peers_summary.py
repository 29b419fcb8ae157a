"""peers_summary.py: the peers study's early-exit table (reports/studies/run_peers.sh). For each method evaluated
at every exit depth (eval_exits.json: layerdrop runs, and dense runs exited early without training for it), per depth d: validation loss, forward FLOPs per token and measured forward time per token (median of repeats),
each as a mean over seeds, and the loss difference against the dense model of depth d trained from scratch on the
same tokens, evaluated on the same validation batches at its full depth (paired by seed; mean and 95% t-interval over seeds, the unit). A negative difference means exiting
at depth d beats training a d-block model; an interval containing 0 decides nothing.
A second table puts each routed method's deployable decision beside its relaxation, from run.json's final validation:
Mixture-of-Depths' top-k routing (val_loss) against its causal predictor (val_loss_causal), and residual gates' skip
rule (val_loss) against every branch computed (val_loss_full_compute), with the work real skipping executed
(eval_hard_skip.json: the fraction of the dense blocks' FLOPs and of the (token, block or branch) pairs) and the
measured hard / soft forward time (medians of the interleaved repeats).
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
    relax = relaxations(runs)
    doc = {"schema": "skipbench.peers_exits", "rows": rows, "relaxations": relax,
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
    lines += ["", "## Each routed method's decision against its relaxation", "",
              "Final validation loss with the deployable decision minus with its relaxation (paired by seed; mean and "
              "95% t-interval over seeds), and what real skipping executed on 8 validation batches (`eval "
              "--hard-skip --repeat 5`).", "",
              "| configuration | seeds | decision | loss | relaxation | loss | difference | 95% CI | FLOPs of dense blocks "
              "| pairs computed | hard / soft time |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    f4 = lambda x: "-" if x is None else f"{x:+.4f}"
    for r in relax:
        ci = "-" if r["ci95"][0] is None else f"[{f4(r['ci95'][0])}, {f4(r['ci95'][1])}]"
        g = lambda x, fmt: "-" if x is None else format(x, fmt)
        lines.append(f"| {r['configuration']} | {len(r['seeds'])} | {r['decision']} | {r['loss_mean']:.3f} | "
                     f"{r['relaxation']} | {r['relaxed_loss_mean']:.3f} | {f4(r['diff_mean'])} | {ci} | "
                     f"{g(r['executed_fraction_mean'], '.3f')} | {g(r['pairs_fraction_mean'], '.3f')} | "
                     f"{g(r['hard_over_soft_mean'], '.3f')} |")
    (study / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


RELAXED = {"val_loss_causal": ("top-k routing", "causal predictor"),
           "val_loss_full_compute": ("skip rule", "every branch computed")}


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if n == 0 else (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2)


def relaxations(runs):
    out = []
    for cfg_dir in sorted(p for p in runs.iterdir() if p.is_dir()):
        per_seed = {}
        for s in sorted(cfg_dir.glob("seed*")):
            if (s / "run.json").exists():
                r = json.load(open(s / "run.json"))
                if r.get("status") == "completed":
                    per_seed[s.name] = (r, json.load(open(s / "eval_hard_skip.json"))
                                        if (s / "eval_hard_skip.json").exists() else None)
        key = next((k for k in RELAXED if per_seed and all(k in r["final"] for r, _ in per_seed.values())), None)
        if key is None:
            continue
        loss = [r["final"]["val_loss"] for r, _ in per_seed.values()]
        relaxed = [r["final"][key] for r, _ in per_seed.values()]
        m, lo, hi = interval([a - b for a, b in zip(loss, relaxed)])
        ev = [e for _, e in per_seed.values() if e]
        mean = lambda xs: sum(xs) / len(xs) if xs else None
        ratios = [median(e["repeats"]["hard_s"]) / median(e["repeats"]["soft_s"]) for e in ev if "repeats" in e]
        out.append({"configuration": cfg_dir.name, "seeds": sorted(per_seed), "decision": RELAXED[key][0],
                    "relaxation": RELAXED[key][1], "relaxed_key": key, "loss_mean": mean(loss),
                    "relaxed_loss_mean": mean(relaxed), "diff_mean": m, "ci95": [lo, hi],
                    "executed_fraction_mean": mean([e["executed_flops"]["fraction_of_dense"] for e in ev]),
                    "pairs_fraction_mean": mean([e["computed_fraction"] for e in ev]),
                    "hard_over_soft_mean": mean(ratios)})
    return out


if __name__ == "__main__":
    main(sys.argv[1])
