"""Synthetic suites from a known generative model, run through the same code as `skipbench report` (suite.py's
summarize_run and aggregate, then claims.evaluate_claims). Used by `skipbench claims calibrate` (calibrate.py) and
by the claims engine's planted-effect tests (tests/test_claims.py).

The model. Every configuration's per-seed value is its true value plus independent N(0, sigma^2) seed noise:
  * dense depths L in `dense_depths`: val loss = E + A (C_L / C_0)^-alpha, C_L = C_FIXED + L * C_BLOCK FLOPs/token;
  * gated (depth `gated_depth`, sparsity `gated_sparsity`): val loss = frontier(C_gated) - gain;
    its final minus initial sparsity = sparsity_gain; its target MAE = mae;
  * key vs none attention (both gated): loss(none) - loss(key) = key_effect;
  * pre vs sandwich: loss(pre) - loss(sandwich) = sandwich_effect;
  * real skipping (claim 6): per run `repeats` interleaved timings with realized/estimated ratio = ratio
    (seed noise sigma_ratio) plus repetition noise sigma_rep.
Each claim's scenario sets one of these away from (or at) its boundary; the others stay at neutral values.
"""
from .claims import evaluate_claims
from .suite import aggregate, summarize_run

T, DIM, C_FIXED, C_BLOCK = 128, 64, 40_000.0, 200_000.0
E, A, ALPHA_TRUE = 3.0, 1.2, 0.6


def true_frontier(c, e=E, a=A, alpha=ALPHA_TRUE, c0=C_FIXED + 2 * C_BLOCK):
    return e + a * (c / c0) ** (-alpha)


def _cfg(L, variant, norm="sandwich", attention_gate="key", controller="adaptive"):
    vopts = {"zero_init_masks": False, "attention_gate": attention_gate} if variant == "skip_middle" else {}
    return {"model": {"dim": DIM, "n_layers": L, "norm": norm, "max_seq_len": T},
            "variant": {"name": variant, "options": vopts},
            "train": {"controller": {"name": controller if variant == "skip_middle" else "none", "options": {}},
                      "zero_eps": 1e-8}}


def _flops(L, sparsity):
    blocks = L * (1 - sparsity) * C_BLOCK * T
    return {"standard": {"mode": "standard", "seq_len": T, "mean_sparsity": sparsity, "forward_per_token":
                         C_FIXED + L * (1 - sparsity) * C_BLOCK,
                         "components_per_sequence": {"attention_projections": 0.25 * blocks,
                                                     "attention_scores_values": 0.1 * blocks, "ffn": 0.65 * blocks,
                                                     "head": C_FIXED * T}}}


def make_run(name, seed, L, variant, val_loss, norm="sandwich", attention_gate="key", sparsity=0.0,
             initial_sparsity=None, mae=None, status="completed", timings=None):
    """One loaded run (as suite.load_run returns it) with a run.json-shaped report."""
    gated = variant == "skip_middle"
    cfg = _cfg(L, variant, norm, attention_gate)
    rep = {"schema": "skipbench.run", "schema_version": 1, "status": status, "config": cfg, "seed": seed,
           "variant": {"name": variant, "options": cfg["variant"]["options"], "gated": gated},
           "controller": {"name": cfg["train"]["controller"]["name"], "options": {}, "final_state": {}},
           "final": {"val_loss": val_loss if status == "completed" else None, "steps": 100, "tokens_seen": 1e6},
           "flops": {"inference_at_val_sparsity": _flops(L, sparsity if gated else 0.0),
                     "training_total": {"standard": 3e6 * (C_FIXED + L * C_BLOCK)}},
           "timing": {"tokens_per_s": 1000.0}}
    if gated:
        targets = [0.6] * L
        gm = [t + (mae if mae is not None else 0.05) for t in targets]
        rep["gates"] = {"val": {"tokens": 4096, "sparsity": sparsity, "gate_mean": gm, "zero_fraction": [sparsity] * L}}
        rep["controller"]["final_state"] = {"mean_targets": targets}
    run = {"entry": {"name": name, "group": name.split("-")[0], "seed": seed, "dir": f"runs/{name}/seed{seed}",
                     "params": {}},
           "dir": f"runs/{name}/seed{seed}", "report": rep, "failed": None, "reason": None,
           "exit_code": 3 if status == "diverged" else None, "status": status, "progress": None, "evals": {},
           "config": cfg, "initial_sparsity": initial_sparsity if gated else None}
    if timings:
        soft_s, hard_s = timings
        run["evals"] = {"soft": {"mode": "soft", "loss": val_loss, "tokens": 4096, "tokens_per_s": 4096 / soft_s[0]},
                        "hard_skip": {"mode": "hard_skip", "loss": val_loss, "tokens": 4096,
                                      "tokens_per_s": 4096 / hard_s[0], "computed_fraction": 1 - sparsity,
                                      "gates": {"sparsity": sparsity}, "repeats": {"soft_s": soft_s, "hard_s": hard_s}}}
    return run


def hard_skip_saving(L, sparsity):
    """The FLOPs-estimated saving claims.py computes for these runs (blocks skipped over all FLOPs)."""
    blocks = L * C_BLOCK
    return blocks * sparsity / (blocks + C_FIXED)


DEFAULTS = dict(seeds=5, sigma=0.02, dense_depths=(2, 4, 6, 8), gated_depth=8, gated_sparsity=0.35, gain=0.0,
                sparsity_gain=0.0, mae=0.1, key_effect=0.0, sandwich_effect=0.0, pre_diverge=0, ratio=0.8,
                sigma_ratio=0.05, sigma_rep=0.03, repeats=5, with_timings=True)


def make_suite(rng, **kw):
    """[loaded runs] of one simulated suite; kw overrides DEFAULTS."""
    p = {**DEFAULTS, **kw}
    n, sd = p["seeds"], p["sigma"]
    g = lambda: rng.gauss(0, sd)  # noqa: E731
    runs = []
    for L in p["dense_depths"]:
        truth = true_frontier(C_FIXED + L * C_BLOCK)
        runs += [make_run(f"dense-L{L}", s, L, "dense", truth + g()) for s in range(n)]
    Lg, sp = p["gated_depth"], p["gated_sparsity"]
    base = true_frontier(C_FIXED + Lg * (1 - sp) * C_BLOCK) - p["gain"]
    est = hard_skip_saving(Lg, sp)
    for s in range(n):
        timings = None
        if p["with_timings"]:
            r_seed = p["ratio"] + rng.gauss(0, p["sigma_ratio"])
            soft = [1.0 + 0.01 * rng.random() for _ in range(p["repeats"])]
            timings = (soft, [a * (1 - est * (r_seed + rng.gauss(0, p["sigma_rep"]))) for a in soft])
        runs.append(make_run("gated-key", s, Lg, "skip_middle", base + g(), sparsity=sp,
                             initial_sparsity=sp - p["sparsity_gain"] + g(), mae=p["mae"] + g(), timings=timings))
        runs.append(make_run("gated-none", s, Lg, "skip_middle", base + p["key_effect"] + g(), attention_gate="none",
                             sparsity=sp, initial_sparsity=0.0, mae=0.0))
        diverged = s < p["pre_diverge"]
        runs.append(make_run("gated-pre", s, Lg, "skip_middle", base + p["sandwich_effect"] + g(), norm="pre",
                             sparsity=sp, initial_sparsity=0.0, mae=0.0,
                             status="diverged" if diverged else "completed"))
    return runs


def evaluate(runs):
    summaries = [summarize_run(r) for r in runs]
    groups = aggregate(summaries)
    return evaluate_claims(summaries, groups, runs)


def verdicts(rng, **kw):
    return {c["id"]: c["verdict"] for c in evaluate(make_suite(rng, **kw))}


def claim(rng, cid, **kw):
    return next(c for c in evaluate(make_suite(rng, **kw)) if c["id"] == cid)

