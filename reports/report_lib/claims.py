"""The paper's claims, each checked against the runs of one suite.

Every row: the claim, the paper's words where they were recovered (../shared/research/paper.md), the test with its
thresholds, the evidence (configurations and runs used, the statistic, seeds) and a verdict: "supported",
"not supported" or "inconclusive". Shared rules:

  * only completed runs count, except that a diverged run is evidence of instability (claim 3);
  * "seed noise" between two configurations is NOISE_K x the pooled sample std of their per-seed values,
    sqrt((s_a^2 + s_b^2) / 2); when either has a single completed seed there is no std, and a difference within
    ONE_SEED_TOL (nats of validation loss) is inconclusive, one beyond it decides the row (marked "one seed");
  * a per-run threshold (claims 1, 2) tested on a configuration with a single seed is inconclusive when the value is
    within that claim's one-seed tolerance of the threshold.
"""
import json
import math

from .common import dig, flatten, is_num, si
from .stats import interp, pooled_std

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)

NOISE_K = 2.0
ONE_SEED_TOL = 0.02
SPARSITY_MIN, SPARSITY_ONE_SEED_TOL = 0.01, 0.005
TARGET_MAE_MAX, TARGET_MAE_ONE_SEED_TOL = 0.1, 0.02
WALLCLOCK_RATIO_MIN = 0.8
MIN_ESTIMATED_SAVING = 0.01
SUSPICIOUS_RATIO = 1.5  # claim 6: realized savings this far above the estimate are flagged as timing noise
# Keys that differ between runs for bookkeeping reasons and do not make two configurations different.
IGNORED_KEYS = ("train.seed", "seed", "train.steps", "train.threads", "train.log_every", "train.val_every",
                "train.checkpoint_every")


def _f(x, nd=4):
    return "n/a" if x is None else f"{x:.{nd}f}"


def _pm(st, nd=4):
    if st["mean"] is None:
        return "n/a"
    return f"{st['mean']:.{nd}f}" + (f" ± {st['std']:.{nd}f}" if st["std"] is not None else "")


def _seeds(xs):
    return ", ".join(str(x) for x in xs)


def _universal(verdicts):
    """A claim about every item: one failure refutes it; it holds only if every item supports it."""
    if not verdicts:
        return INCONCLUSIVE
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return SUPPORTED if all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


def _comparative(verdicts):
    """A claim about an effect: consistent comparisons decide it; contradicting ones make it inconclusive."""
    if SUPPORTED in verdicts and NOT_SUPPORTED in verdicts:
        return INCONCLUSIVE
    if SUPPORTED in verdicts:
        return SUPPORTED
    if NOT_SUPPORTED in verdicts:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def _ev(lead, items=(), tail=""):
    """Evidence text: a lead sentence, one item per configuration or comparison, a closing sentence."""
    items = list(items)
    parts = [lead.rstrip()] + (["; ".join(items) + "."] if items else []) + ([tail] if tail else [])
    return {"lead": lead, "items": items, "tail": tail, "summary": " ".join(p for p in parts if p)}


def _row(cid, claim, statement, source, test, thresholds, verdict, ev, statistic, configs, runs, seeds,
         details, notes=None):
    return {"id": cid, "claim": claim, "paper_statement": statement, "source": source, "test": test,
            "thresholds": thresholds, "verdict": verdict,
            "evidence": {**ev, "statistic": statistic, "configurations": configs, "runs": runs,
                         "seeds": seeds, "details": details},
            "notes": notes or []}


class Context:
    """Indexes shared by the claim checks."""

    def __init__(self, summaries, groups, runs):
        self.summaries, self.groups, self.runs = summaries, groups, runs
        self.by_name = {g["name"]: g for g in groups}
        self.runs_of = {}
        for s in summaries:
            self.runs_of.setdefault(s["name"], []).append(s)
        self.raw = {(r["entry"]["name"], r["entry"].get("seed"), r["entry"]["dir"]): r for r in runs}
        # the fully resolved config of each configuration (from run.json, else the runner's config.json)
        self.resolved = {}
        for r in runs:
            rep = r["report"]
            name = r["entry"]["name"]
            if rep and (name not in self.resolved or not self.resolved[name][1]):
                flat = flatten(rep.get("config") or {})
                for k, v in flatten(dig(rep, "variant", "options") or {}).items():
                    flat.setdefault("variant.options." + k, v)
                for k, v in flatten(dig(rep, "controller", "options") or {}).items():
                    flat.setdefault("train.controller.options." + k, v)
                self.resolved[name] = (flat, True)
            elif r.get("config") and name not in self.resolved:
                self.resolved[name] = (flatten(r["config"]), False)
        self.resolved = {k: v[0] for k, v in self.resolved.items()}

    def completed(self, name):
        return [s for s in self.runs_of.get(name, []) if s["status"] == "completed"]

    def raw_run(self, s):
        return self.raw.get((s["name"], s["seed"], s["dir"]))

    def _value(self, g, key):
        p = g["params"] if isinstance(g["params"], dict) else {}
        if key in p:
            return p[key]
        return self.resolved.get(g["name"], {}).get(key)

    def same_except(self, a, b, ignore):
        """a and b (aggregates) differ at most in the keys `ignore` (and bookkeeping keys): compared over their
        fully resolved configs when both have one, else over the suite params (with resolved fallbacks)."""
        ra, rb = self.resolved.get(a["name"]), self.resolved.get(b["name"])
        if ra is not None and rb is not None:
            keys = set(ra) | set(rb)
            get_a, get_b = ra.get, rb.get
        elif isinstance(a["params"], dict) and isinstance(b["params"], dict):
            keys = set(a["params"]) | set(b["params"])
            get_a, get_b = (lambda k: self._value(a, k)), (lambda k: self._value(b, k))
        else:
            return False
        skip = list(ignore) + list(IGNORED_KEYS)
        keys = {k for k in keys if not any(k == i or k.startswith(i + ".") for i in skip)}

        def norm(v):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            return json.dumps(v, sort_keys=True)

        return all(norm(get_a(k)) == norm(get_b(k)) for k in keys)


def _noise(a, b):
    """(threshold, one_seed) for comparing the val-loss stats a and b."""
    ps = pooled_std(a, b)
    if ps is None:
        return ONE_SEED_TOL, True
    return NOISE_K * ps, False


def _differs(diff, thr, one_seed):
    """'beyond', 'within' or 'unclear' (one seed and within the tolerance)."""
    if abs(diff) > thr:
        return "beyond"
    return "unclear" if one_seed else "within"


# ------------------------------------------------------------------------------------------------ claim 1


def claim_gates_skip(cx):
    gated = [g for g in cx.groups if g["role"] == "gated" and g["n_completed"] > 0]
    details, verdicts, runs, seeds = [], [], [], set()
    for g in gated:
        done = cx.completed(g["name"])
        sp = [(s["seed"], s["sparsity"]) for s in done]
        vals = [v for _, v in sp if v is not None]
        if not vals:
            v = INCONCLUSIVE
        elif all(x > SPARSITY_MIN for x in vals) and len(vals) == len(sp):
            v = SUPPORTED
            if len(vals) == 1 and vals[0] - SPARSITY_MIN <= SPARSITY_ONE_SEED_TOL:
                v = INCONCLUSIVE
        else:
            v = NOT_SUPPORTED
            if len(vals) == 1 and abs(vals[0] - SPARSITY_MIN) <= SPARSITY_ONE_SEED_TOL:
                v = INCONCLUSIVE
        verdicts.append(v)
        runs += [f"{g['name']}/seed{s}" for s, _ in sp]
        seeds.update(s for s, _ in sp)
        details.append({"configuration": g["name"], "sparsity_by_seed": {str(s): x for s, x in sp}, "verdict": v})
    verdict = _universal(verdicts)
    if not gated:
        summary = _ev("No completed skip_middle runs with learned gates (zero_init_masks false) in this suite.")
    else:
        parts = [f"{d['configuration']}: " + ", ".join(_f(x, 3) for x in d["sparsity_by_seed"].values())
                 + f" (seeds {_seeds(d['sparsity_by_seed'])}) → {d['verdict']}" for d in details]
        summary = _ev("Realized validation sparsity per seed:", parts)
    return _row(
        1, "Gates learn to skip",
        "Learning to skip the middle layers: learned per-token gates switch off the middle blocks for some tokens "
        "(title; \"gate sparsity with an adaptive regularization loss\").", "arXiv 2506.21103 title and abstract",
        f"Every completed skip_middle run with learned gates (zero_init_masks false) has realized sparsity "
        f"gates.val.sparsity > {SPARSITY_MIN} (the fraction of (token, layer) gates below zero_eps on the validation "
        f"split). A configuration with one seed within ±{SPARSITY_ONE_SEED_TOL} of the threshold is inconclusive.",
        {"sparsity_min": SPARSITY_MIN, "one_seed_tolerance": SPARSITY_ONE_SEED_TOL},
        verdict, summary, "gates.val.sparsity per run", [g["name"] for g in gated], runs, sorted(seeds, key=str),
        details)


# ------------------------------------------------------------------------------------------------ claim 2


def claim_targets(cx):
    cands = [g for g in cx.groups if g["n_completed"] > 0 and any(
        s["mean_targets"] and s["gate_mean"] for s in cx.completed(g["name"]))]
    details, verdicts, runs, seeds = [], [], [], set()
    for g in cands:
        done = [s for s in cx.completed(g["name"]) if s["target_mae"] is not None]
        maes = [s["target_mae"] for s in done]
        if len(maes) == 1 and abs(maes[0] - TARGET_MAE_MAX) <= TARGET_MAE_ONE_SEED_TOL:
            v = INCONCLUSIVE
        elif maes and all(m < TARGET_MAE_MAX for m in maes):
            v = SUPPORTED
        elif maes:
            v = NOT_SUPPORTED
        else:
            v = INCONCLUSIVE
        verdicts.append(v)
        runs += [f"{g['name']}/seed{s['seed']}" for s in done]
        seeds.update(s["seed"] for s in done)
        details.append({"configuration": g["name"], "mae_by_seed": {str(s["seed"]): s["target_mae"] for s in done},
                        "implied_target_sparsity": g["stats"]["implied_target_sparsity"]["mean"],
                        "realized_sparsity": g["stats"]["sparsity"]["mean"], "verdict": v})
    verdict = _universal(verdicts)
    if not cands:
        summary = _ev("No completed run has per-layer mean targets (controller.final_state.mean_targets): the "
                      "suite has no target-based controller runs (adaptive, proportional, proportional_derivative, "
                      "sparsity_variance_l2).")
    else:
        summary = _ev("Mean |realized gate mean − target| over layers:", [
            f"{d['configuration']}: " + ", ".join(_f(m, 3) for m in d["mae_by_seed"].values())
            + f" (seeds {_seeds(d['mae_by_seed'])}) → {d['verdict']}" for d in details])
    return _row(
        2, "Sparsity follows the targets",
        "The controller's adaptive regularization steers each layer's mean gate to its target "
        "(\"gate sparsity with an adaptive regularization loss\").", "arXiv 2506.21103 abstract; released code",
        f"For every completed run whose controller has per-layer mean targets: the mean absolute error between the "
        f"realized per-layer gate mean (gates.val.gate_mean) and the target (controller.final_state.mean_targets) is "
        f"< {TARGET_MAE_MAX}. One seed within ±{TARGET_MAE_ONE_SEED_TOL} of the threshold: inconclusive.",
        {"mae_max": TARGET_MAE_MAX, "one_seed_tolerance": TARGET_MAE_ONE_SEED_TOL},
        verdict, summary, "mean over layers of |gate_mean_l − target_l| per run", [g["name"] for g in cands], runs,
        sorted(seeds, key=str), details)


# ------------------------------------------------------------------------------------------------ claim 3


def _compare_loss(a, b):
    """Validation-loss difference a − b with its noise threshold; None when either has no completed seed."""
    sa, sb = a["stats"]["val_loss"], b["stats"]["val_loss"]
    if sa["mean"] is None or sb["mean"] is None:
        return None
    thr, one = _noise(sa, sb)
    return {"diff": sa["mean"] - sb["mean"], "threshold": thr, "one_seed": one,
            "a": sa, "b": sb, "a_seeds": a["completed_seeds"], "b_seeds": b["completed_seeds"]}


def claim_sandwich(cx):
    pres = [g for g in cx.groups if g["norm"] == "pre"]
    sandwiches = [g for g in cx.groups if g["norm"] == "sandwich"]
    details, verdicts, runs, seeds, configs = [], [], [], set(), []
    for p in pres:
        matches = [s for s in sandwiches if cx.same_except(p, s, ["model.norm"])]
        matched_on = "every other setting"
        if not matches:
            matches = [s for s in sandwiches if all(
                s[k] == p[k] for k in ("variant", "n_layers", "dim", "attention_gate", "controller"))]
            matched_on = "variant, n_layers, dim, attention_gate, controller (settings differ otherwise)"
        p_runs = cx.runs_of.get(p["name"], [])
        div = [s for s in p_runs if s["status"] == "diverged" or (s["status"] == "failed" and s["exit_code"] == 3)]
        finished = [s for s in p_runs if s["status"] in ("completed", "diverged") or s in div]
        if not matches:
            details.append({"pre": p["name"], "sandwich": None, "verdict": INCONCLUSIVE,
                            "text": f"{p['name']}: no sandwich configuration of the same variant to compare"})
            verdicts.append(INCONCLUSIVE)
            continue
        for s in matches:
            configs += [p["name"], s["name"]]
            runs += [f"{p['name']}/seed{r['seed']}" for r in finished]
            runs += [f"{s['name']}/seed{x}" for x in s["completed_seeds"]]
            seeds.update([r["seed"] for r in finished] + s["completed_seeds"])
            relaxed = "" if matched_on == "every other setting" else f" [matched on {matched_on}]"
            d = {"pre": p["name"], "sandwich": s["name"], "matched_on": matched_on,
                 "pre_diverged": len(div), "pre_finished": len(finished), "sandwich_completed": s["n_completed"]}
            if div:
                if s["any_diverged"]:
                    v, text = INCONCLUSIVE, f"{p['name']} diverged in {len(div)} run(s), but {s['name']} diverged too"
                elif s["n_completed"] == 0:
                    v, text = INCONCLUSIVE, (f"{p['name']} diverged in {len(div)} run(s); {s['name']} has no "
                                             "completed run yet")
                else:
                    v = SUPPORTED
                    text = (f"{p['name']} (pre) diverged in {len(div)} of {len(finished)} finished run(s) (seeds "
                            f"{_seeds([r['seed'] for r in div])}; {div[0]['failure'] or 'no reason recorded'}); "
                            f"{s['name']} (sandwich) completed {s['n_completed']} seed(s), val loss "
                            f"{_pm(s['stats']['val_loss'])}")
            else:
                c = _compare_loss(p, s)
                if c is None:
                    v, text = INCONCLUSIVE, f"{p['name']} vs {s['name']}: no completed runs on one side yet"
                else:
                    d.update({"diff": c["diff"], "threshold": c["threshold"], "one_seed": c["one_seed"]})
                    how = _differs(c["diff"], c["threshold"], c["one_seed"])
                    if c["diff"] > c["threshold"]:
                        v = SUPPORTED
                    elif how == "unclear":
                        v = INCONCLUSIVE
                    else:
                        v = NOT_SUPPORTED
                    text = (f"val loss pre {p['name']} {_pm(c['a'])} (seeds {_seeds(c['a_seeds'])}) − sandwich "
                            f"{s['name']} {_pm(c['b'])} (seeds {_seeds(c['b_seeds'])}) = {c['diff']:+.4f}; "
                            f"threshold {c['threshold']:.4f}" + (" (one seed: tolerance)" if c["one_seed"] else
                                                                  f" ({NOISE_K:g} × pooled seed std)"))
            d.update({"verdict": v, "text": text + relaxed})
            details.append(d)
            verdicts.append(v)
    verdict = _comparative(verdicts) if pres else INCONCLUSIVE
    summary = (_ev("No runs with model.norm = pre in this suite.") if not pres else
               _ev("Pre-LN against sandwich:", [f"{d['text']} → {d['verdict']}" for d in details]))
    return _row(
        3, "Sandwich-LN is needed for stable training",
        "\"residual norms are controlled with a 'sandwich' or 'peri-layernorm' scheme\"; Sandwich-LN is \"the key "
        "difference relative to Llama 3 … instead of Pre-LN\".", "arXiv 2506.21103 abstract; HF model cards",
        f"Compare each model.norm = pre configuration with the sandwich configuration that differs only in "
        f"model.norm (else: same variant, depth, width, attention gate and controller). Supported if the pre runs "
        f"diverge (status diverged, or failed with exit code 3) while sandwich completes, or if pre's mean val loss is "
        f"worse by more than {NOISE_K:g} × the pooled seed std (by more than {ONE_SEED_TOL} with one seed); "
        f"not supported if pre is as good or better; inconclusive without pre runs, with one seed and a difference "
        f"within {ONE_SEED_TOL}, or when comparisons disagree.",
        {"noise_k": NOISE_K, "one_seed_tolerance": ONE_SEED_TOL},
        verdict, summary, "divergence count; difference of mean final val loss (pre − sandwich)",
        sorted(set(configs)), sorted(set(runs)), sorted(seeds, key=str), details)


# ------------------------------------------------------------------------------------------------ claim 4


def claim_key_attention(cx):
    gated = [g for g in cx.groups if g["attention_gate"] in ("key", "none", "reference") and g["n_completed"] > 0
             and g["role"] in ("gated", "other")]
    keys = [g for g in gated if g["attention_gate"] == "key"]
    details, verdicts, runs, seeds, configs, sanity = [], [], [], set(), [], []
    ign = ["variant.options.attention_gate"]
    for k in keys:
        others = [g for g in gated if g["attention_gate"] in ("none", "reference") and cx.same_except(k, g, ign)]
        for o in others:
            c = _compare_loss(k, o)
            if c is None:
                continue
            how = _differs(c["diff"], c["threshold"], c["one_seed"])
            v = {"beyond": SUPPORTED, "within": NOT_SUPPORTED, "unclear": INCONCLUSIVE}[how]
            configs += [k["name"], o["name"]]
            runs += [f"{k['name']}/seed{x}" for x in k["completed_seeds"]]
            runs += [f"{o['name']}/seed{x}" for x in o["completed_seeds"]]
            seeds.update(k["completed_seeds"] + o["completed_seeds"])
            text = (f"key {k['name']} {_pm(c['a'])} (seeds {_seeds(c['a_seeds'])}) − {o['attention_gate']} "
                    f"{o['name']} {_pm(c['b'])} (seeds {_seeds(c['b_seeds'])}) = {c['diff']:+.4f}; threshold "
                    f"{c['threshold']:.4f}" + (" (one seed: tolerance)" if c["one_seed"]
                                               else f" ({NOISE_K:g} × pooled seed std)"))
            details.append({"key": k["name"], "other": o["name"], "other_gate": o["attention_gate"],
                            "diff": c["diff"], "threshold": c["threshold"], "one_seed": c["one_seed"],
                            "verdict": v, "text": text})
            verdicts.append(v)
    nones = [g for g in gated if g["attention_gate"] == "none"]
    for n in nones:
        for r in [g for g in gated if g["attention_gate"] == "reference" and cx.same_except(n, g, ign)]:
            c = _compare_loss(r, n)
            if c is not None:
                flag = abs(c["diff"]) > c["threshold"]
                sanity.append(f"reference {r['name']} − none {n['name']} = {c['diff']:+.4f}"
                              + (" (unexpected: larger than the seed noise; reference should equal none)"
                                 if flag else " (as expected)"))
    verdict = _comparative(verdicts)
    if not details:
        summary = _ev("No pair of completed configurations that differ only in variant.options.attention_gate "
                      "(key vs none or reference).", tail=("Sanity check: " + "; ".join(sanity) + ".") if sanity else "")
    else:
        summary = _ev("Validation loss, key against none/reference:",
                      [f"{d['text']} → {d['verdict']}" for d in details],
                      ("Sanity check: " + "; ".join(sanity) + ".") if sanity else "")
    return _row(
        4, "Key-masked attention matters",
        "Other tokens are prevented from attending to a skipped position in the skipped blocks' self-attention "
        "(Figure 1). The released code adds the gate term on the query axis, which softmax cancels.",
        "arXiv 2506.21103 Figure 1 caption; released code model/utils.py",
        f"Compare variant.options.attention_gate = key with none and with reference, all else equal. Supported if "
        f"key's mean val loss differs from none's (or reference's) by more than {NOISE_K:g} × the pooled seed std "
        f"(more than {ONE_SEED_TOL} with one seed); not supported if within the seed noise; inconclusive without such "
        f"pairs, with one seed and a difference within {ONE_SEED_TOL}, or when comparisons disagree. reference is a "
        f"numerical no-op (same as none) by construction, so reference vs none is reported as a sanity check.",
        {"noise_k": NOISE_K, "one_seed_tolerance": ONE_SEED_TOL},
        verdict, summary, "difference of mean final val loss (key − none/reference)", sorted(set(configs)),
        sorted(set(runs)), sorted(seeds, key=str), details,
        notes=["attention_gate = reference adds ln(g) indexed by the query, a per-row constant that softmax "
               "cancels: it is the same model as none."])


# ------------------------------------------------------------------------------------------------ claim 5


def dense_frontiers(groups, mode="standard"):
    """{context: [points sorted by FLOPs]} over dense-role configurations with a completed seed; context is
    (norm, dim). Each point: name, n_layers, flops (mean), loss stats."""
    key = "inference_flops_" + mode
    out = {}
    for g in groups:
        if g["role"] != "dense" or g["n_completed"] == 0:
            continue
        fl, vl = g["stats"][key], g["stats"]["val_loss"]
        if fl["mean"] is None or vl["mean"] is None or fl["mean"] <= 0:
            continue
        out.setdefault((g["norm"], g["dim"]), []).append(
            {"name": g["name"], "n_layers": g["n_layers"], "flops": fl["mean"], "loss": vl})
    for pts in out.values():
        pts.sort(key=lambda p: p["flops"])
    return out


def frontier_at(points, x):
    """Interpolated (loss mean, loss std or None) of a frontier at FLOPs x, in log FLOPs; None out of range."""
    xs = [math.log10(p["flops"]) for p in points]
    lx = math.log10(x)
    m = interp(xs, [p["loss"]["mean"] for p in points], lx)
    if m is None:
        return None
    stds = [p["loss"]["std"] for p in points]
    sd = interp(xs, stds, lx) if all(s is not None for s in stds) else None
    return m, sd


def claim_frontier(cx):
    fronts = dense_frontiers(cx.groups)
    gated = [g for g in cx.groups if g["role"] == "gated" and g["n_completed"] > 0
             and g["stats"]["val_loss"]["mean"] is not None and g["stats"]["inference_flops_standard"]["mean"]]
    details, verdicts, runs, seeds, configs = [], [], [], set(), []
    for g in gated:
        ctx = (g["norm"], g["dim"])
        pts = fronts.get(ctx, [])
        depths = {p["n_layers"] for p in pts}
        x = g["stats"]["inference_flops_standard"]["mean"]
        d = {"configuration": g["name"], "flops_per_token": x, "val_loss": g["stats"]["val_loss"]["mean"],
             "context": {"norm": ctx[0], "dim": ctx[1]}}
        if len(depths) < 2:
            d.update(verdict=INCONCLUSIVE, text=f"{g['name']}: fewer than 2 dense depths with norm={ctx[0]}, "
                                                f"dim={ctx[1]} to interpolate")
        else:
            at = frontier_at(pts, x)
            if at is None:
                d.update(verdict=INCONCLUSIVE, text=(
                    f"{g['name']}: {si(x, 'FLOP')}/token is outside the dense range "
                    f"[{si(pts[0]['flops'], 'FLOP')}, {si(pts[-1]['flops'], 'FLOP')}]"))
            else:
                fm, fs = at
                gs = g["stats"]["val_loss"]["std"]
                gap = g["stats"]["val_loss"]["mean"] - fm
                if gs is None or fs is None:
                    thr, one = ONE_SEED_TOL, True
                else:
                    thr, one = NOISE_K * math.sqrt((gs ** 2 + fs ** 2) / 2), False
                if gap < -thr:
                    v = NOT_SUPPORTED
                elif one and abs(gap) <= thr:
                    v = INCONCLUSIVE
                else:
                    v = SUPPORTED
                configs += [g["name"]] + [p["name"] for p in pts]
                runs += [f"{g['name']}/seed{s}" for s in g["completed_seeds"]]
                for p in pts:
                    runs += [f"{p['name']}/seed{s}" for s in cx.by_name[p["name"]]["completed_seeds"]]
                seeds.update(g["completed_seeds"])
                d.update(frontier_loss=fm, gap=gap, threshold=thr, one_seed=one, verdict=v, text=(
                    f"{g['name']}: {_pm(g['stats']['val_loss'])} at {si(x, 'FLOP')}/token (seeds "
                    f"{_seeds(g['completed_seeds'])}) vs dense frontier {fm:.4f} → gap {gap:+.4f} (threshold "
                    f"{thr:.4f}{', one seed' if one else ''})"))
        details.append(d)
        verdicts.append(d["verdict"])
    decided = [v for v in verdicts if v != INCONCLUSIVE]
    if NOT_SUPPORTED in decided:
        verdict = NOT_SUPPORTED
    elif decided:
        verdict = SUPPORTED
    else:
        verdict = INCONCLUSIVE
    if not gated:
        summary = _ev("No completed skip_middle runs with learned gates.")
    else:
        fr = "; ".join(f"Dense frontier (norm={c[0]}, dim={c[1]}): " + ", ".join(
            f"{p['name']} {si(p['flops'], 'FLOP')}/token → {_pm(p['loss'])}" for p in pts) for c, pts in fronts.items())
        summary = _ev((fr + "." if fr else "No dense runs.") + " Gated configurations:",
                      [f"{d['text']} → {d['verdict']}" for d in details],
                      "Configurations marked inconclusive are left out of the verdict."
                      if INCONCLUSIVE in verdicts and decided else "")
    return _row(
        5, "The gated model does not beat dense baselines with fewer layers at equal estimated FLOPs",
        "\"at the scales investigated, our approach does not achieve improvements in the trade-off between "
        "validation cross-entropy and estimated FLOPs compared to dense baselines with fewer layers.\"",
        "arXiv 2506.21103 abstract",
        f"Dense frontier: final val loss (mean over seeds) of the dense configurations (variant dense, or skip_middle "
        f"with zero_init_masks) with the same norm and width, piecewise linear in log10 of the estimated inference "
        f"FLOPs per token (standard mode, at the validation sparsity). For each gated configuration: gap = its mean "
        f"val loss − the frontier at its mean FLOPs (negative = better than dense). Supported if no gated "
        f"configuration is below the frontier by more than {NOISE_K:g} × the pooled seed std of gated and frontier "
        f"(interpolated) losses ({ONE_SEED_TOL} when either has one seed; a one-seed gap within it is inconclusive); "
        f"not supported otherwise; inconclusive when the gated FLOPs fall outside the dense range or there are fewer "
        f"than 2 dense depths.",
        {"noise_k": NOISE_K, "one_seed_tolerance": ONE_SEED_TOL, "flops_mode": "standard",
         "interpolation": "piecewise linear in log10 FLOPs per token"},
        verdict, summary, "val-loss gap to the dense frontier at equal estimated inference FLOPs",
        sorted(set(configs)), sorted(set(runs)), sorted(seeds, key=str), details,
        notes=_frontier_notes(fronts, details))


def _frontier_notes(fronts, details):
    """Warn when a deeper dense configuration is worse than a shallower one beyond the seed noise: the runs are
    probably too short for the deeper models, and the line is not a frontier (lower envelope). Then also say which
    gated configurations a dense one Pareto-dominates (no more FLOPs, lower loss)."""
    notes = []
    for d in details:
        pts = fronts.get((d["context"]["norm"], d["context"]["dim"]), [])
        d["dominated_by"] = [p["name"] for p in pts if p["flops"] <= d["flops_per_token"]
                             and p["loss"]["mean"] < d["val_loss"]]
    for ctx, pts in fronts.items():
        rises = []
        for a, b in zip(pts, pts[1:]):
            thr, _ = _noise(a["loss"], b["loss"])
            if b["loss"]["mean"] - a["loss"]["mean"] > thr:
                rises.append(f"{b['name']} {b['loss']['mean']:.4f} > {a['name']} {a['loss']['mean']:.4f}")
        if rises:
            notes.append(f"Dense loss rises with FLOPs (norm={ctx[0]}, dim={ctx[1]}: {'; '.join(rises)}): the deeper "
                         f"dense models are probably undertrained at this budget, so the dense line is not a frontier "
                         f"and gated runs can sit below it without the method being better.")
    if notes and details:
        dom = [f"{d['configuration']} by {', '.join(d['dominated_by'])}" if d["dominated_by"]
               else f"{d['configuration']} by none" if fronts.get((d["context"]["norm"], d["context"]["dim"]))
               else f"{d['configuration']}: no dense runs with norm={d['context']['norm']}, dim={d['context']['dim']}"
               for d in details]
        notes.append("Pareto check (a dense configuration with no more estimated FLOPs and a lower mean val loss): "
                     + "; ".join(dom) + ".")
    return notes


# ------------------------------------------------------------------------------------------------ claim 6


def _hard_skip_estimate(raw, hard_sparsity):
    """FLOPs-estimated saving of real skipping at the given sparsity vs computing every block (standard mode),
    from the run's component estimate at its validation sparsity."""
    st = dig(raw["report"], "flops", "inference_at_val_sparsity", "standard") or {}
    comp = st.get("components_per_sequence") or {}
    ms = st.get("mean_sparsity")
    parts = [comp.get(k) for k in ("attention_projections", "attention_scores_values", "ffn")]
    if not all(is_num(p) for p in parts) or not is_num(ms) or ms >= 1:
        return None
    dense_blocks = sum(parts) / (1 - ms)
    fixed = sum(v for k, v in comp.items() if k not in ("attention_projections", "attention_scores_values", "ffn")
                and is_num(v))
    total = dense_blocks + fixed
    return dense_blocks * hard_sparsity / total if total > 0 else None


def claim_wallclock(cx):
    hard, train = [], []
    for s in cx.summaries:
        if s["status"] != "completed" or not s["gated"] or not s["eval"]:
            continue
        soft, hs = (s["eval"] or {}).get("soft"), (s["eval"] or {}).get("hard_skip")
        if not soft or not hs or not soft["tokens_per_s"] or not hs["tokens_per_s"] or hs["sparsity"] is None:
            continue
        raw = cx.raw_run(s)
        est = _hard_skip_estimate(raw, hs["sparsity"]) if raw else None
        realized = 1 - soft["tokens_per_s"] / hs["tokens_per_s"]
        ratio = realized / est if est is not None and est >= MIN_ESTIMATED_SAVING else None
        v = INCONCLUSIVE if ratio is None else (SUPPORTED if ratio >= WALLCLOCK_RATIO_MIN else NOT_SUPPORTED)
        hard.append({"run": f"{s['name']}/seed{s['seed']}", "seed": s["seed"], "sparsity": hs["sparsity"],
                     "estimated_saving": est, "realized_saving": realized, "ratio": ratio,
                     "soft_tokens_per_s": soft["tokens_per_s"], "hard_tokens_per_s": hs["tokens_per_s"],
                     "verdict": v})
    for g in cx.groups:
        if g["role"] != "gated" or g["n_completed"] == 0:
            continue
        dense = [d for d in cx.groups if d["role"] == "dense" and d["n_completed"] > 0 and d["n_layers"] == g["n_layers"]
                 and d["dim"] == g["dim"] and d["norm"] == g["norm"]]
        for d in dense:
            fg, fd = g["stats"]["training_flops_per_token"]["mean"], d["stats"]["training_flops_per_token"]["mean"]
            tg, td = g["stats"]["tokens_per_s"]["mean"], d["stats"]["tokens_per_s"]["mean"]
            if not (fg and fd and tg and td):
                continue
            est = 1 - fg / fd
            realized = 1 - td / tg
            ratio = realized / est if est >= MIN_ESTIMATED_SAVING else None
            v = INCONCLUSIVE if ratio is None else (SUPPORTED if ratio >= WALLCLOCK_RATIO_MIN else NOT_SUPPORTED)
            train.append({"gated": g["name"], "dense": d["name"], "n_layers": g["n_layers"],
                          "estimated_saving": est, "realized_saving": realized, "ratio": ratio,
                          "gated_tokens_per_s": tg, "dense_tokens_per_s": td,
                          "seeds": sorted(set(g["completed_seeds"]) | set(d["completed_seeds"]), key=str),
                          "verdict": v})

    def mean_ratio(rows):
        rs = [r["ratio"] for r in rows if r["ratio"] is not None]
        return (sum(rs) / len(rs), len(rs)) if rs else (None, 0)

    texts, items = [], []
    items += [f"real skipping, {h['run']}: sparsity {h['sparsity']:.3f}, estimated saving "
              f"{_f(h['estimated_saving'], 3)}, realized {h['realized_saving']:+.3f} ({h['hard_tokens_per_s']:.0f} "
              f"hard vs {h['soft_tokens_per_s']:.0f} soft tokens/s), ratio {_f(h['ratio'], 2)}" for h in hard]
    items += [f"training, {t['gated']} vs {t['dense']} (L={t['n_layers']}): estimated saving "
              f"{t['estimated_saving']:.3f}, realized {t['realized_saving']:+.3f} ({t['gated_tokens_per_s']:.0f} vs "
              f"{t['dense_tokens_per_s']:.0f} tokens/s), ratio {_f(t['ratio'], 2)}" for t in train]
    basis = "hard_skip" if hard else ("training" if train else None)
    rows = hard if hard else train
    mr, n = mean_ratio(rows)
    if basis is None:
        verdict = INCONCLUSIVE
        texts.append("No gated run has eval_soft.json + eval_hard_skip.json, and no gated configuration has a "
                     "dense configuration of the same depth to compare with.")
    elif mr is None:
        verdict = INCONCLUSIVE
        texts.append(f"The estimated savings are below {MIN_ESTIMATED_SAVING}: nothing to realize.")
    else:
        verdict = SUPPORTED if mr >= WALLCLOCK_RATIO_MIN else NOT_SUPPORTED
        texts.append(f"Verdict from {'real skipping' if basis == 'hard_skip' else 'training'}: mean realized/"
                     f"estimated = {mr:.2f} over {n} {'run' if basis == 'hard_skip' else 'comparison'}(s).")
    if basis == "training":
        texts.append("Training runs multiply by soft gates and skip nothing, so no saving is expected there; "
                     "run `skipbench eval --run DIR` and `skipbench eval --run DIR --hard-skip` on the gated runs "
                     "to measure real skipping.")
    if basis == "hard_skip":
        used, seeds = [h["run"] for h in hard], sorted({h["seed"] for h in hard}, key=str)
    else:
        pairs = {(x, s) for t in train for x in (t["gated"], t["dense"]) for s in cx.by_name[x]["completed_seeds"]}
        used = sorted(f"{x}/seed{s}" for x, s in pairs)
        seeds = sorted({s for _, s in pairs}, key=str)
    return _row(
        6, "Estimated FLOPs savings show up in wall-clock",
        "Not claimed by the paper: it reports estimated FLOPs only, and the released code never skips computation "
        "(gates multiply block outputs).", "released code (tim-lawson/skip-middle); harness check",
        f"With eval_hard_skip.json and eval_soft.json in a run directory: realized saving = 1 − "
        f"(1/hard tokens_per_s) / (1/soft tokens_per_s), against the FLOPs-estimated saving of skipping the blocks at "
        f"the hard-skip sparsity (standard mode). Otherwise: training wall-clock per token of gated vs dense "
        f"configurations of the same depth, realized 1 − (dense tokens/s)/(gated tokens/s), against the estimated "
        f"training-FLOPs-per-token saving. Supported if mean realized/estimated ≥ {WALLCLOCK_RATIO_MIN}; inconclusive "
        f"without such runs or when the estimated saving is below {MIN_ESTIMATED_SAVING}. One timing per run: no "
        f"repetitions.",
        {"ratio_min": WALLCLOCK_RATIO_MIN, "min_estimated_saving": MIN_ESTIMATED_SAVING,
         "suspicious_ratio_above": SUSPICIOUS_RATIO, "basis": basis},
        verdict, _ev("Realized against estimated savings (training runs use soft gates and compute every block):"
                     if items else "", items, " ".join(texts)), "realized / estimated saving",
        sorted({r.rsplit("/seed", 1)[0] for r in used}), used, seeds, {"hard_skip": hard, "training": train},
        notes=[f"{r.get('run') or r['gated'] + ' vs ' + r['dense']}: realized saving is {r['ratio']:.2f} × the "
               f"estimate; one timing per run is noisy (warm-up in whichever ran first, other load on the machine): "
               f"repeat the measurement, e.g. with skipbench_bench_hard_skip." for r in hard + train
               if r["ratio"] is not None and r["ratio"] > SUSPICIOUS_RATIO])


def evaluate_claims(summaries, groups, runs):
    cx = Context(summaries, groups, runs)
    return [claim_gates_skip(cx), claim_targets(cx), claim_sandwich(cx), claim_key_attention(cx),
            claim_frontier(cx), claim_wallclock(cx)]
