"""The paper's claims, each a stated test over the runs of one suite: an effect with its estimator, a 95% interval
with seeds as the unit, a stated margin, and a three-outcome decision rule (reports/report_lib/stats.py). The prose
(paper quotes, the test in words, why each margin) is in claims_text.py; this file holds the rules, one small
function per claim.

Shared rules: only completed runs enter a statistic, except that a diverged run is evidence of instability
(claim 3); a configuration with one seed has no variance estimate, so a claim that needs one is inconclusive;
every inconclusive verdict says what would decide it (seeds needed at the observed spread).
"""
import json
import math

from . import claims_text as T
from .common import dig, flatten, is_num, si
from .frontier import frontier_from_means, multiplier
from .stats import (ALPHA, INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Estimate, difference_verdict, fisher_greater,
                    jackknife, null_gain_verdict, one_sample, seeds_needed, t_quantile, threshold_verdict, welch)

VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
NOT_APPLICABLE = "not applicable"  # a comparison with nothing to compare against: left out of the claim's verdict

LOSS_MARGIN = 0.02        # nats of val loss (claims 3, 4, 5)
SPARSITY_MARGIN = 0.01    # fraction of gates (claim 1)
TARGET_MAE_MAX = 0.1      # claim 2
WALLCLOCK_RATIO_MIN = 0.8  # claim 6
MIN_ESTIMATED_SAVING = 0.01
MIN_REPEATS = 3
SUSPICIOUS_RATIO = 1.5  # claim 6: realized savings this far above the estimate are flagged
BAND_POINTS = 40
# Keys that differ between runs for bookkeeping reasons and do not make two configurations different.
IGNORED_KEYS = ("train.seed", "seed", "train.steps", "train.threads", "train.log_every", "train.val_every",
                "train.checkpoint_every")

PARAMS = {"level": 1 - ALPHA, "eq_level": 1 - 2 * ALPHA, "one_sided": 1 - ALPHA, "alpha_half": ALPHA / 2,
          "loss_margin": LOSS_MARGIN, "loss_margin_pct": 100 * (math.exp(LOSS_MARGIN) - 1),
          "sparsity_margin": SPARSITY_MARGIN, "mae_max": TARGET_MAE_MAX, "ratio_min": WALLCLOCK_RATIO_MIN,
          "min_repeats": MIN_REPEATS}


def _f(x, nd=4):
    return "n/a" if x is None else f"{x:.{nd}f}"


def _seeds(xs):
    return ", ".join(str(x) for x in xs)


def _ci(est, nd=4, alpha=ALPHA):
    c = est.ci(1 - alpha)
    return f"{est.value:+.{nd}f} [{c[0]:+.{nd}f}, {c[1]:+.{nd}f}]" if c else (
        f"{est.value:+.{nd}f} (no interval)" if est.value is not None else "n/a")


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


def _mde(est, alpha=ALPHA):
    """Smallest effect the current interval detects with 80% power: (t_{1-alpha/2} + t_{0.8}) * se."""
    if est.se is None or est.df is None:
        return None
    return (t_quantile(1 - alpha / 2, est.df) + t_quantile(0.8, est.df)) * est.se


def what_would_decide(est, verdict, margin=None, threshold=None, unit="seeds", alpha=ALPHA):
    """One sentence for an inconclusive verdict: the replicates per configuration that would decide it if the
    observed effect and spread held, and the minimum detectable effect now; None for a decided verdict."""
    if verdict != INCONCLUSIVE:
        return None
    if est.value is None:
        return "Needs completed runs on every side of the comparison."
    if est.se is None:
        return (f"Needs >= 2 {unit} of every configuration it compares (now {_seeds(est.n.values())}): one "
                f"{unit[:-1]} gives no variance estimate.")
    n0 = min(est.n.values())
    if threshold is not None:
        gap = abs(est.value - threshold)
        n = seeds_needed(est, gap, alpha)
        return (f"At the observed spread (se {est.se:.3g} with n = {n0}), about {n} {unit} per configuration would "
                f"put the interval on one side of {threshold:g} if the mean stays {est.value:.4g}"
                if n else f"The mean equals the threshold {threshold:g}; no number of {unit} decides it") + "."
    parts = []
    d = abs(est.value)
    if d > 0:
        n = seeds_needed(est, d, alpha)
        parts.append(f"about {n if n <= 1000 else '>1000'} {unit} per configuration would exclude 0 if the effect "
                     f"is {est.value:+.4g} as observed")
    if margin is not None and d < margin:
        n = seeds_needed(est, margin - d, 2 * alpha)
        parts.append(f"about {n if n <= 1000 else '>1000'} would show it within ±{margin:g} if it is that small")
    mde = _mde(est, alpha)
    return (f"At the observed spread (se {est.se:.3g} with n = {n0}): " + "; ".join(parts)
            + (f". Minimum detectable effect now (80% power): {mde:.3g}." if mde is not None else "."))


def _test_row(est, verdict, reason, margin=None, threshold=None, unit="seeds", alpha=ALPHA):
    return {"estimate": est.to_json(1 - alpha), "verdict": verdict, "reason": reason, "alpha": alpha,
            "decide": what_would_decide(est, verdict, margin, threshold, unit, alpha)}


def per_test_alpha(k):
    """Bonferroni: with k comparisons in one claim each is decided at ALPHA / k, so that the claim's verdict (which
    any one comparison can decide) keeps an error rate <= ALPHA."""
    return ALPHA / max(1, k)


def _ev(lead, items=(), tail=""):
    items = list(items)
    parts = [lead.rstrip()] + (["; ".join(items) + "."] if items else []) + ([tail] if tail else [])
    return {"lead": lead, "items": items, "tail": tail, "summary": " ".join(p for p in parts if p)}


def _row(cid, verdict, ev, statistic, configs, runs, seeds, details, headline=None, extra_thresholds=None,
         notes=None):
    """A claims-table row; headline: the test row (estimate, reason, decide) that speaks for the claim."""
    text = T.CLAIMS[cid]
    mk = text["margin"]
    margin_value = {"loss": LOSS_MARGIN, "sparsity": SPARSITY_MARGIN, "mae": TARGET_MAE_MAX,
                    "ratio": WALLCLOCK_RATIO_MIN}[mk]
    h = headline or {}
    return {"id": cid, "claim": text["claim"], "paper_statement": text["paper_statement"], "source": text["source"],
            "test": text["test"].format(**PARAMS),
            "margin": {"value": margin_value, "kind": mk, "why": T.MARGIN_WHY[mk].format(**PARAMS)},
            "alpha": ALPHA, "thresholds": {"margin": margin_value, "alpha": ALPHA, **(extra_thresholds or {})},
            "verdict": verdict, "estimate": h.get("estimate"), "reason": h.get("reason") or (
                "nothing in this suite to compare" if verdict == INCONCLUSIVE else None),
            "decide": h.get("decide") or (T.DECIDE_WITHOUT_EVIDENCE[cid] if verdict == INCONCLUSIVE else None),
            "n_per_side": (h.get("estimate") or {}).get("n"), "statistic": statistic,
            "evidence": {**ev, "statistic": statistic, "configurations": configs, "runs": runs,
                         "seeds": seeds, "details": details},
            "notes": notes or []}


def _headline(details, verdict):
    """The detail whose test speaks for the claim: the first with the claim's verdict, else the first with an
    estimate."""
    with_est = [d for d in details if d.get("estimate")]
    for d in with_est:
        if d["verdict"] == verdict:
            return d
    return with_est[0] if with_est else None


class Context:
    """Indexes shared by the claim checks."""

    def __init__(self, summaries, groups, runs):
        self.summaries, self.groups, self.runs = summaries, groups, runs
        self.by_name = {g["name"]: g for g in groups}
        self.runs_of = {}
        for s in summaries:
            self.runs_of.setdefault(s["name"], []).append(s)
        self.raw = {(r["entry"]["name"], r["entry"].get("seed"), r["entry"]["dir"]): r for r in runs}
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

    def values(self, name, key):
        """Per-seed values of a summary field over the completed runs: [(seed, value)] for finite values."""
        return [(s["seed"], s[key]) for s in self.completed(name) if is_num(s.get(key))]

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

    def runs_used(self, *names):
        return [f"{n}/seed{s}" for n in names for s in self.by_name[n]["completed_seeds"]]


def _loss_difference(cx, a, b):
    """Welch estimate of mean val loss a − b over completed seeds."""
    va = [v for _, v in cx.values(a, "final_val_loss")]
    vb = [v for _, v in cx.values(b, "final_val_loss")]
    if not va or not vb:
        return None
    est = welch(va, vb)
    est.n = {a: len(va), b: len(vb)}
    return est


# ------------------------------------------------------------------------------------------------ claim 1


def claim_gates_skip(cx):
    gated = [g for g in cx.groups if g["role"] == "gated" and g["n_completed"] > 0]
    details, runs, seeds = [], [], set()
    pairs_of = {g["name"]: [(s["seed"], s["sparsity"], s.get("initial_sparsity")) for s in cx.completed(g["name"])]
                for g in gated}
    alpha = per_test_alpha(sum(1 for ps in pairs_of.values() if any(is_num(f) and is_num(i) for _, f, i in ps)))
    for g in gated:
        pairs = pairs_of[g["name"]]
        diffs = [(sd, f - i) for sd, f, i in pairs if is_num(f) and is_num(i)]
        missing = [sd for sd, f, i in pairs if not (is_num(f) and is_num(i))]
        d = {"configuration": g["name"], "final_sparsity_by_seed": {str(sd): f for sd, f, _ in pairs},
             "initial_sparsity_by_seed": {str(sd): i for sd, _, i in pairs}}
        if not diffs:
            d.update(verdict=INCONCLUSIVE, reason="no run records both its final and its initial (step-0) sparsity",
                     decide="Rerun with this skipbench (metrics.jsonl records the step-0 gate sparsity).",
                     text=f"{g['name']}: no final and initial sparsity pair")
        else:
            est = one_sample([x for _, x in diffs])
            est.n = {g["name"]: len(diffs)}
            v, why = difference_verdict(est, SPARSITY_MARGIN, alpha)
            d.update(_test_row(est, v, why, SPARSITY_MARGIN, alpha=alpha))
            d["text"] = (f"{g['name']}: sparsity gain {_ci(est, 3, alpha)} over seeds {_seeds([s for s, _ in diffs])}"
                         + (f" (seeds {_seeds(missing)} lack a step-0 record)" if missing else "") + f": {why}")
            runs += [f"{g['name']}/seed{s}" for s, _ in diffs]
            seeds.update(s for s, _ in diffs)
        details.append(d)
    verdict = _universal([d["verdict"] for d in details])
    ev = (_ev("No completed skip_middle runs with learned gates (zero_init_masks false) in this suite.") if not gated
          else _ev("Learned minus initial validation sparsity, per configuration:",
                   [f"{d['text']} → {d['verdict']}" for d in details]))
    return _row(1, verdict, ev, "final − initial gate sparsity, paired by seed", [g["name"] for g in gated], runs,
                sorted(seeds, key=str), details, _headline(details, verdict))


# ------------------------------------------------------------------------------------------------ claim 2


def claim_targets(cx):
    cands = [g for g in cx.groups if g["n_completed"] > 0 and any(
        s["mean_targets"] and s["gate_mean"] for s in cx.completed(g["name"]))]
    details, runs, seeds = [], [], set()
    alpha = per_test_alpha(len(cands))
    for g in cands:
        maes = cx.values(g["name"], "target_mae")
        est = one_sample([m for _, m in maes]) if maes else Estimate(None)
        est.n = {g["name"]: len(maes)}
        v, why = threshold_verdict(est, TARGET_MAE_MAX, alpha)
        d = {"configuration": g["name"], "mae_by_seed": {str(s): m for s, m in maes},
             "implied_target_sparsity": g["stats"]["implied_target_sparsity"]["mean"],
             "realized_sparsity": g["stats"]["sparsity"]["mean"],
             **_test_row(est, v, why, threshold=TARGET_MAE_MAX, alpha=alpha),
             "text": f"{g['name']}: mean MAE {_ci(est, 3, alpha)} (seeds {_seeds([s for s, _ in maes])}): {why}"}
        details.append(d)
        runs += [f"{g['name']}/seed{s}" for s, _ in maes]
        seeds.update(s for s, _ in maes)
    verdict = _universal([d["verdict"] for d in details])
    ev = (_ev("No completed run has per-layer mean targets (controller.final_state.mean_targets): the suite has no "
              "target-based controller runs (adaptive, proportional, proportional_derivative, sparsity_variance_l2).")
          if not cands else _ev("Mean |realized gate mean − target| over layers, per configuration:",
                                [f"{d['text']} → {d['verdict']}" for d in details]))
    return _row(2, verdict, ev, "mean over layers of |gate_mean_l − target_l|, mean over seeds",
                [g["name"] for g in cands], runs, sorted(seeds, key=str), details, _headline(details, verdict))


# ------------------------------------------------------------------------------------------------ claim 3


def _diverged(s):
    return s["status"] == "diverged" or (s["status"] == "failed" and s["exit_code"] == 3)


def _sandwich_pair(cx, p, s, alpha):
    """One pre-vs-sandwich comparison."""
    finished = lambda name: [r for r in cx.runs_of.get(name, [])  # noqa: E731
                             if r["status"] in ("completed", "diverged") or _diverged(r)]
    fp, fs = finished(p["name"]), finished(s["name"])
    dp, ds = sum(map(_diverged, fp)), sum(map(_diverged, fs))
    d = {"pre": p["name"], "sandwich": s["name"], "pre_diverged": dp, "pre_finished": len(fp),
         "sandwich_diverged": ds, "sandwich_finished": len(fs)}
    if dp or ds:
        pg, pl = fisher_greater(dp, len(fp), ds, len(fs)), fisher_greater(ds, len(fs), dp, len(fp))
        if pg < alpha / 2:
            v, why = SUPPORTED, f"pre diverges more often: Fisher's exact one-sided p = {pg:.3g} < {alpha / 2:.3g}"
        elif pl < alpha / 2:
            v, why = NOT_SUPPORTED, f"sandwich diverges more often: Fisher's exact one-sided p = {pl:.3g}"
        else:
            v, why = INCONCLUSIVE, f"Fisher's exact one-sided p = {pg:.3g} is not below {alpha / 2:.3g}"
        need = next((n for n in range(2, 51) if fisher_greater(n, n, 0, n) < alpha / 2), None)
        d.update(verdict=v, reason=why, estimate=None, test="Fisher's exact test on divergence counts",
                 decide=None if v != INCONCLUSIVE else (
                     f"If pre always diverges and sandwich never does, {need} seeds of each decide it (Fisher)."),
                 text=(f"{p['name']} (pre) diverged in {dp} of {len(fp)} finished run(s), {s['name']} (sandwich) in "
                       f"{ds} of {len(fs)}: {why}"))
        return d
    est = _loss_difference(cx, p["name"], s["name"])
    if est is None:
        d.update(verdict=INCONCLUSIVE, reason="no completed runs on one side", estimate=None,
                 decide="Needs completed runs of both configurations.",
                 text=f"{p['name']} vs {s['name']}: no completed runs on one side yet")
        return d
    v, why = difference_verdict(est, LOSS_MARGIN, alpha)
    d.update(_test_row(est, v, why, LOSS_MARGIN, alpha=alpha), test="Welch t on final val loss (pre − sandwich)",
             text=f"val loss {p['name']} (pre) − {s['name']} (sandwich) = {_ci(est, 4, alpha)}: {why}")
    return d


def claim_sandwich(cx):
    pres = [g for g in cx.groups if g["norm"] == "pre"]
    sandwiches = [g for g in cx.groups if g["norm"] == "sandwich"]
    details, configs, runs, plan = [], [], [], []
    for p in pres:
        matches = [s for s in sandwiches if cx.same_except(p, s, ["model.norm"])]
        matched_on = "every other setting"
        if not matches:
            matches = [s for s in sandwiches if all(
                s[k] == p[k] for k in ("variant", "n_layers", "dim", "attention_gate", "controller"))]
            matched_on = "variant, n_layers, dim, attention_gate, controller (settings differ otherwise)"
        plan.append((p, matches, matched_on))
    alpha = per_test_alpha(sum(len(m) for _, m, _ in plan))
    for p, matches, matched_on in plan:
        if not matches:
            details.append({"pre": p["name"], "sandwich": None, "verdict": INCONCLUSIVE, "estimate": None,
                            "reason": "no sandwich twin", "decide": "Add the sandwich configuration of the same "
                            "variant and settings.",
                            "text": f"{p['name']}: no sandwich configuration of the same variant to compare"})
            continue
        for s in matches:
            d = _sandwich_pair(cx, p, s, alpha)
            d["matched_on"] = matched_on
            if matched_on != "every other setting":
                d["text"] += f" [matched on {matched_on}]"
            details.append(d)
            configs += [p["name"], s["name"]]
            runs += [f"{x['name']}/seed{x['seed']}" for n in (p["name"], s["name"]) for x in cx.runs_of.get(n, [])
                     if x["status"] == "completed" or _diverged(x)]
    verdict = _comparative([d["verdict"] for d in details]) if pres else INCONCLUSIVE
    ev = (_ev("No runs with model.norm = pre in this suite.") if not pres else
          _ev("Pre-LN against sandwich:", [f"{d['text']} → {d['verdict']}" for d in details]))
    head = _headline(details, verdict) or next((d for d in details if d["verdict"] == verdict), None)
    seeds = sorted({r.rsplit("seed", 1)[1] for r in runs}, key=str)
    return _row(3, verdict, ev, "divergence counts (Fisher); else mean final val loss pre − sandwich (Welch)",
                sorted(set(configs)), sorted(set(runs)), seeds, details, head)


# ------------------------------------------------------------------------------------------------ claim 4


def claim_key_attention(cx):
    gated = [g for g in cx.groups if g["attention_gate"] in ("key", "none", "reference") and g["n_completed"] > 0
             and g["role"] in ("gated", "other")]
    ign = ["variant.options.attention_gate"]
    details, configs, sanity, pairs = [], [], [], []
    for k in [g for g in gated if g["attention_gate"] == "key"]:
        for o in [g for g in gated if g["attention_gate"] in ("none", "reference") and cx.same_except(k, g, ign)]:
            est = _loss_difference(cx, o["name"], k["name"])
            if est is not None:
                pairs.append((k, o, est))
    alpha = per_test_alpha(len(pairs))
    for k, o, est in pairs:
        v, why = difference_verdict(est, LOSS_MARGIN, alpha)
        configs += [k["name"], o["name"]]
        details.append({"key": k["name"], "other": o["name"], "other_gate": o["attention_gate"],
                        **_test_row(est, v, why, LOSS_MARGIN, alpha=alpha),
                        "text": f"val loss {o['attention_gate']} {o['name']} − key {k['name']} = "
                                f"{_ci(est, 4, alpha)}: {why}"})
    for n in [g for g in gated if g["attention_gate"] == "none"]:
        for r in [g for g in gated if g["attention_gate"] == "reference" and cx.same_except(n, g, ign)]:
            est = _loss_difference(cx, r["name"], n["name"])
            if est is not None:
                c = est.ci()
                odd = c is not None and (c[0] > 0 or c[1] < 0)
                sanity.append(f"reference {r['name']} − none {n['name']} = {_ci(est)}"
                              + (" (unexpected: the interval excludes 0; reference should equal none)" if odd
                                 else " (as expected)"))
    verdict = _comparative([d["verdict"] for d in details])
    tail = ("Sanity check: " + "; ".join(sanity) + ".") if sanity else ""
    ev = (_ev("No pair of completed configurations that differ only in variant.options.attention_gate (key vs none "
              "or reference).", tail=tail) if not details else
          _ev("Validation loss, none/reference minus key (positive: key masking helps):",
              [f"{d['text']} → {d['verdict']}" for d in details], tail))
    return _row(4, verdict, ev, "mean final val loss none − key (Welch)", sorted(set(configs)),
                sorted(set(cx.runs_used(*set(configs)))), sorted({s for c in set(configs) for s in
                                                                   cx.by_name[c]["completed_seeds"]}, key=str),
                details, _headline(details, verdict),
                notes=["attention_gate = reference adds ln(g) indexed by the query, a per-row constant that softmax "
                       "cancels: it is the same model as none."])


# ------------------------------------------------------------------------------------------------ claim 5


def dense_frontiers(groups, mode="standard", key=None):
    """{context: [points sorted by FLOPs]} over dense-role configurations with a completed seed; context is
    (norm, dim). Each point: name, n_layers, flops (mean), loss stats. `key`: another cost statistic for the x axis
    (e.g. inference_us_per_token; the points still call it "flops")."""
    key = key or "inference_flops_" + mode
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


def _losses(cx, name):
    return [v for _, v in cx.values(name, "final_val_loss")]


def _frontier_fn(pts):
    """fn(means) -> Frontier over the dense points."""
    return lambda m: frontier_from_means([(p["name"], p["flops"]) for p in pts], m)


def frontier_band(cx, pts, c_lo, c_hi):
    """Pointwise 95% interval of the frontier on a log grid over [c_lo, c_hi]: {'flops','mean','lo','hi'}."""
    make = _frontier_fn(pts)
    samples = {p["name"]: _losses(cx, p["name"]) for p in pts}
    out = {"flops": [], "mean": [], "lo": [], "hi": []}
    for i in range(BAND_POINTS):
        c = c_lo * (c_hi / c_lo) ** (i / (BAND_POINTS - 1))

        def at(m, c=c):
            f = make(m)
            return f.predict(c) if f else None
        est = jackknife(samples, at)
        if est.value is None:
            continue
        ci = est.ci()
        out["flops"].append(c)
        out["mean"].append(est.value)
        out["lo"].append(ci[0] if ci else None)
        out["hi"].append(ci[1] if ci else None)
    return out


def _gated_vs_frontier(cx, g, pts, alpha, key="inference_flops_standard", unit="FLOP"):
    c_g = g["stats"][key]["mean"]
    make = _frontier_fn(pts)
    samples = {p["name"]: _losses(cx, p["name"]) for p in pts}
    samples[g["name"]] = _losses(cx, g["name"])

    def gain(m):
        f = make(m)
        at = f.predict(c_g) if f else None
        return None if at is None else at - m[g["name"]]

    def log_mult(m):
        f = make(m)
        x = multiplier(f, c_g, m[g["name"]]) if f else None
        return math.log(x) if x else None

    est = jackknife(samples, gain)
    est.n = {k: len(v) for k, v in samples.items()}
    lm = jackknife(samples, log_mult)
    front = make({k: sum(v) / len(v) for k, v in samples.items()})
    d = {"configuration": g["name"], "flops_per_token": c_g, "val_loss": g["stats"]["val_loss"]["mean"],
         "context": {"norm": g["norm"], "dim": g["dim"]}, "frontier_kind": front.kind if front else None}
    if est.value is None:
        rng = f"[{si(pts[0]['flops'], unit)}, {si(pts[-1]['flops'], unit)}]"
        d.update(verdict=INCONCLUSIVE, estimate=None, reason="outside the dense range of the piecewise-linear frontier",
                 decide="Add a dense depth whose FLOPs bracket the gated configuration's, or >= 4 depths for a "
                        "power-law fit.",
                 text=f"{g['name']}: {si(c_g, unit)}/token is outside the dense range {rng}")
        return d
    v, why = null_gain_verdict(est, LOSS_MARGIN, alpha)
    d.update(_test_row(est, v, why, LOSS_MARGIN, alpha=alpha))
    d["gain"] = est.value
    d["frontier_loss"] = est.value + d["val_loss"]
    d["extrapolated"] = not front.in_range(c_g)
    mult = {"value": math.exp(lm.value) if lm.value is not None else None,
            "ci": [math.exp(x) for x in lm.ci(1 - alpha)] if lm.ci() else None, "ci_level": 1 - alpha}
    if lm.value is not None:
        c_eq = math.exp(lm.value) * c_g
        mult["dense_equivalent_flops"] = c_eq
        mult["extrapolated"] = not front.in_range(c_eq) or d["extrapolated"]
    d["multiplier"] = mult
    mtxt = ("no multiplier (the frontier does not reach its loss)" if mult["value"] is None else
            f"compute multiplier {mult['value']:.2f}" + (f" [{mult['ci'][0]:.2f}, {mult['ci'][1]:.2f}]"
                                                          if mult["ci"] else " (no interval)")
            + (" (extrapolated)" if mult.get("extrapolated") else ""))
    d["text"] = (f"{g['name']}: {si(c_g, unit)}/token, gain over the {front.kind.replace('_', '-')} frontier "
                 f"{_ci(est, 4, alpha)} nats, {mtxt}: {why}")
    return d


def _gated_family_fits(groups):
    """Power-law fits of gated families (same norm, width, attention gate and controller) with >= 4 points."""
    fam = {}
    for g in groups:
        if g["role"] == "gated" and g["n_completed"] and g["stats"]["val_loss"]["mean"] is not None \
                and g["stats"]["inference_flops_standard"]["mean"]:
            fam.setdefault((g["norm"], g["dim"], g["attention_gate"], g["controller"]), []).append(g)
    out = []
    for key, gs in fam.items():
        f = frontier_from_means([(g["name"], g["stats"]["inference_flops_standard"]["mean"]) for g in gs],
                                {g["name"]: g["stats"]["val_loss"]["mean"] for g in gs})
        if f is not None and f.kind == "power_law":
            out.append({"family": {"norm": key[0], "dim": key[1], "attention_gate": key[2], "controller": key[3]},
                        "configurations": [g["name"] for g in gs], **f.describe()})
    return out


def claim_frontier(cx):
    fronts = dense_frontiers(cx.groups)
    gated = [g for g in cx.groups if g["role"] == "gated" and g["n_completed"] > 0
             and g["stats"]["val_loss"]["mean"] is not None and g["stats"]["inference_flops_standard"]["mean"]]
    details, configs = [], []
    alpha = per_test_alpha(sum(1 for g in gated if len({p["flops"] for p in fronts.get((g["norm"], g["dim"]), [])}) >= 2))
    for g in gated:
        pts = fronts.get((g["norm"], g["dim"]), [])
        if len({p["flops"] for p in pts}) < 2:
            details.append({"configuration": g["name"], "verdict": NOT_APPLICABLE, "estimate": None,
                            "context": {"norm": g["norm"], "dim": g["dim"]},
                            "reason": "fewer than 2 dense depths", "decide": "Add dense depths of the same norm and "
                            "width (>= 4 for a power-law fit).",
                            "text": f"{g['name']}: fewer than 2 dense depths with norm={g['norm']}, dim={g['dim']}: "
                                    f"not compared (left out of the verdict)"})
            continue
        details.append(_gated_vs_frontier(cx, g, pts, alpha))
        configs += [g["name"]] + [p["name"] for p in pts]
    curves = []
    for ctx, pts in fronts.items():
        if len({p["flops"] for p in pts}) < 2:
            continue
        f = frontier_from_means([(p["name"], p["flops"]) for p in pts], {p["name"]: p["loss"]["mean"] for p in pts})
        xs = [p["flops"] for p in pts] + [d["flops_per_token"] for d in details
                                          if d.get("context") == {"norm": ctx[0], "dim": ctx[1]}
                                          and "flops_per_token" in d and f.kind == "power_law"]
        curves.append({"context": {"norm": ctx[0], "dim": ctx[1]}, **f.describe(),
                       "band": frontier_band(cx, pts, min(xs), max(xs))})
    verdict = _universal([d["verdict"] for d in details if d["verdict"] != NOT_APPLICABLE])
    widths = sorted({d["context"]["dim"] for d in details if (d.get("multiplier") or {}).get("value")})
    trend = [f"dim {w}: " + ", ".join(f"{d['configuration']} {d['multiplier']['value']:.2f}" for d in details
                                      if d["context"]["dim"] == w and (d.get("multiplier") or {}).get("value"))
             for w in widths]
    if not gated:
        ev = _ev("No completed skip_middle runs with learned gates.")
    else:
        fr = "; ".join(f"Dense frontier (norm={c[0]}, dim={c[1]}): " + ", ".join(
            f"{p['name']} {si(p['flops'], 'FLOP')}/token → {p['loss']['mean']:.4f} (n={p['loss']['n']})"
            for p in pts) for c, pts in fronts.items())
        ev = _ev((fr + "." if fr else "No dense runs.") + " Gated configurations:",
                 [f"{d['text']} → {d['verdict']}" for d in details],
                 ("Compute multipliers by width (the trend with scale): " + "; ".join(trend) + ".")
                 if len(widths) > 1 else "")
    return _row(5, verdict, ev, "gain = dense frontier at the gated FLOPs − gated val loss (jackknife t)",
                sorted(set(configs)), sorted(set(cx.runs_used(*set(configs)))),
                sorted({s for c in set(configs) for s in cx.by_name[c]["completed_seeds"]}, key=str),
                {"comparisons": details, "frontiers": curves, "gated_family_fits": _gated_family_fits(cx.groups)},
                _headline(details, verdict),
                extra_thresholds={"flops_mode": "standard", "frontier": "power law with >= 4 depths, else monotone "
                                  "piecewise linear in log FLOPs"},
                notes=_frontier_notes(fronts))


def _frontier_notes(fronts):
    """A deeper dense configuration worse than a shallower one (beyond its interval): the runs are probably too
    short for the deeper models, and the isotonic frontier pools them."""
    notes = []
    for ctx, pts in fronts.items():
        rises = [f"{b['name']} {b['loss']['mean']:.4f} > {a['name']} {a['loss']['mean']:.4f}"
                 for a, b in zip(pts, pts[1:]) if b["loss"]["mean"] > a["loss"]["mean"]]
        if rises:
            notes.append(f"Dense loss rises with FLOPs (norm={ctx[0]}, dim={ctx[1]}: {'; '.join(rises)}): the deeper "
                         f"dense models are probably undertrained at this budget; the monotone frontier pools these "
                         f"points, so it is not a real frontier there.")
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


def _timed_runs(cx):
    """Gated runs with a hard-skip eval: per run its estimated saving and per-repetition ratios (None without
    repeated timings)."""
    out = []
    for s in cx.summaries:
        if s["status"] != "completed" or not s["gated"] or not s["eval"] or not s["eval"].get("hard_skip"):
            continue
        hs = s["eval"]["hard_skip"]
        raw = cx.raw_run(s)
        est = _hard_skip_estimate(raw, hs["sparsity"]) if raw and is_num(hs.get("sparsity")) else None
        reps = hs.get("repeats") or {}
        soft_s, hard_s = reps.get("soft_s") or [], reps.get("hard_s") or []
        pairs = [(a, b) for a, b in zip(soft_s, hard_s) if is_num(a) and is_num(b) and a > 0 and b > 0]
        ratios = ([(1 - b / a) / est for a, b in pairs] if est is not None and est >= MIN_ESTIMATED_SAVING else None)
        out.append({"run": f"{s['name']}/seed{s['seed']}", "name": s["name"], "seed": s["seed"],
                    "sparsity": hs.get("sparsity"), "estimated_saving": est, "repeats": len(pairs),
                    "ratios": ratios, "mean_ratio": (sum(ratios) / len(ratios)) if ratios else None})
    return out


def _training_comparisons(cx):
    train = []
    for g in cx.groups:
        if g["role"] != "gated" or g["n_completed"] == 0:
            continue
        for d in [d for d in cx.groups if d["role"] == "dense" and d["n_completed"] > 0
                  and d["n_layers"] == g["n_layers"] and d["dim"] == g["dim"] and d["norm"] == g["norm"]]:
            fg, fd = g["stats"]["training_flops_per_token"]["mean"], d["stats"]["training_flops_per_token"]["mean"]
            tg, td = g["stats"]["tokens_per_s"]["mean"], d["stats"]["tokens_per_s"]["mean"]
            if fg and fd and tg and td:
                train.append({"gated": g["name"], "dense": d["name"], "estimated_saving": 1 - fg / fd,
                              "realized_saving": 1 - td / tg})
    return train


def claim_wallclock(cx):
    timed = _timed_runs(cx)
    rep = [t for t in timed if t["ratios"] and t["repeats"] >= MIN_REPEATS]
    train = _training_comparisons(cx)
    items = [f"{t['run']}: sparsity {_f(t['sparsity'], 3)}, estimated saving {_f(t['estimated_saving'], 3)}, "
             + (f"{t['repeats']} interleaved repetitions, mean realized/estimated {t['mean_ratio']:.2f}"
                if t["ratios"] else "one timing per mode (no --repeat)" if not t["repeats"] else
                "estimated saving below " + str(MIN_ESTIMATED_SAVING)) for t in timed]
    items += [f"training (soft gates), {t['gated']} vs {t['dense']}: estimated {t['estimated_saving']:.3f}, "
              f"realized {t['realized_saving']:+.3f}" for t in train]
    if rep:
        est = one_sample([t["mean_ratio"] for t in rep])
        est.n = {"runs": len(rep)}
        basis = "hard_skip, unit: seed (each run's mean over its repetitions)"
        for t in rep:  # the timing noise of each run alone, for information
            t["repetition_ci"] = one_sample(t["ratios"]).ci()
    else:
        est = Estimate(None)
        basis = "training" if train else None
    if est.value is not None and est.se is None:
        v = INCONCLUSIVE
        c = rep[0]["repetition_ci"]
        why = (f"one seed: its {rep[0]['repeats']} repetitions give a ratio of {rep[0]['mean_ratio']:.3f}"
               + (f" [{c[0]:.3f}, {c[1]:.3f}]" if c else "") + " over timing noise only, not over seeds")
        head = {"estimate": est.to_json(), "verdict": v, "reason": why,
                "decide": f"Time a second seed's run (`skipbench eval --run DIR --hard-skip --repeat "
                          f"{max(MIN_REPEATS, 5)}`)."}
    elif est.value is not None:
        # "above the threshold" is the claim: test ratio_min - ratio below 0
        neg = Estimate(WALLCLOCK_RATIO_MIN - est.value, est.se, est.df, est.n, est.method)
        v, why = threshold_verdict(neg, 0)
        c = est.ci()
        why = (f"the 95% CI of the mean ratio [{c[0]:.3f}, {c[1]:.3f}] lies "
               f"{'above' if v == SUPPORTED else 'below' if v == NOT_SUPPORTED else 'around'} {WALLCLOCK_RATIO_MIN:g}"
               if c else "no interval")
        head = {"estimate": est.to_json(), "verdict": v, "reason": why,
                "decide": what_would_decide(est, v, threshold=WALLCLOCK_RATIO_MIN)}
    else:
        v = INCONCLUSIVE
        if timed:
            why = ("real-skipping evals have no repeated timings (one timing per mode cannot tell the saving from "
                   "noise)")
        elif train:
            why = ("training evidence only: soft gates compute every block, so training cannot show a saving")
        else:
            why = "no gated run has an eval_hard_skip.json, and no gated configuration has a dense twin"
        head = {"estimate": None, "verdict": v, "reason": why,
                "decide": f"Run `skipbench eval --run DIR --hard-skip --repeat {max(MIN_REPEATS, 5)}` on the gated "
                          f"runs (>= 2 seeds) and render again."}
    notes = [f"{t['run']}: realized saving {t['mean_ratio']:.2f} × the estimate: check for timing noise or a "
             f"dense reference that is slower than it should be." for t in rep if t["mean_ratio"] > SUSPICIOUS_RATIO]
    ev = _ev("Realized against estimated savings:" if items else "", items, f"Verdict basis: {basis or 'none'}; "
             f"{head['reason']}.")
    used = [t["run"] for t in rep] if rep else [f"{x}/seed{s}" for t in train for x in (t["gated"], t["dense"])
                                                  for s in cx.by_name[x]["completed_seeds"]]
    return _row(6, v, ev, "mean realized / estimated saving of real skipping", sorted({r.rsplit("/seed", 1)[0]
                                                                                       for r in used}),
                sorted(set(used)), sorted({r.rsplit("/seed", 1)[1] for r in used}, key=str),
                {"hard_skip": timed, "training": train, "basis": basis}, head,
                extra_thresholds={"ratio_min": WALLCLOCK_RATIO_MIN, "min_estimated_saving": MIN_ESTIMATED_SAVING,
                                  "min_repeats": MIN_REPEATS, "basis": basis}, notes=notes)


PEER_BASES = (("estimated FLOPs", "inference_flops_standard", "FLOP"),
              ("measured time", "inference_us_per_token", "µs"))


def evaluate_peers(summaries, groups, runs):
    """The peers' question, not a claim of the paper: does each peer method's configuration (role "peer": layerdrop,
    mod, ...) beat dense models of its norm and width, at equal estimated inference FLOPs and at equal measured
    inference time per token (eval --hard-skip --repeat; the dense frontier drawn through the dense runs' own
    measured times)? Each row is claim 5's test: gain = dense frontier at the peer's cost − its val loss, a
    jackknife t-interval over seeds, margin LOSS_MARGIN, Bonferroni over the rows of one basis."""
    cx = Context(summaries, groups, runs)
    peers = [g for g in groups if g["role"] == "peer" and g["n_completed"] > 0
             and g["stats"]["val_loss"]["mean"] is not None]
    rows = []
    for basis, key, unit in PEER_BASES:
        fronts = dense_frontiers(groups, key=key)
        cands = [g for g in peers if (g["stats"].get(key) or {}).get("mean")]
        alpha = per_test_alpha(len(cands))
        for g in peers:
            base = {"configuration": g["name"], "variant": g["variant"], "basis": basis, "cost_key": key}
            pts = fronts.get((g["norm"], g["dim"]), [])
            if g not in cands:
                rows.append({**base, "verdict": NOT_APPLICABLE, "estimate": None,
                             "text": f"{g['name']}: no {basis} (" + ("no eval --hard-skip --repeat timings)"
                                                                     if "us" in key else "no estimate)")})
            elif len({p["flops"] for p in pts}) < 2:
                rows.append({**base, "verdict": NOT_APPLICABLE, "estimate": None,
                             "text": f"{g['name']}: fewer than 2 dense depths with {basis} (norm={g['norm']}, "
                                     f"dim={g['dim']})"})
            else:
                d = {**base, **_gated_vs_frontier(cx, g, pts, alpha, key, unit)}
                # claim 5's null ("no gain of the margin or more") read as the peers' question
                d["answer"] = {SUPPORTED: "does not beat dense by the margin", NOT_SUPPORTED: "beats dense",
                               INCONCLUSIVE: "inconclusive"}[d["verdict"]]
                rows.append(d)
    return rows


def evaluate_claims(summaries, groups, runs):
    cx = Context(summaries, groups, runs)
    return [claim_gates_skip(cx), claim_targets(cx), claim_sandwich(cx), claim_key_attention(cx),
            claim_frontier(cx), claim_wallclock(cx)]
