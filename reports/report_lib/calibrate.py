"""`skipbench claims calibrate`: the claims engine's own error rates, measured on simulated suites with known truth
(simulate.py) run through the same code as `skipbench report`.

Scenarios (n seeds per configuration, seed noise sigma):
  null     every effect at the claim's boundary (no effect): a *wrong* verdict is "supported" for claims 1-4 and 6
           (effect 0 / MAE at its threshold / ratio at its threshold) and "not supported" for the null claim 5
           (gated exactly on the dense frontier). null_error_rate = the rate of wrong verdicts.
  margin   claim 5 only: the gated gain exactly at the margin; "supported" (ruling such a gain out) is wrong.
  power    every effect 3 sigma in the claimed direction (claim 5: a gain of 3 sigma, so "not supported" is right;
           claim 6: 3 times the seed-level std of a run's mean ratio): power = the rate of right verdicts.
  one-seed the power scenario with one seed: every claim must stay inconclusive (decided rate 0).
  equivalence  no effect with 20 seeds: the rate of the equivalence verdict (claims 3, 4: not supported; claim 5:
           supported), for information.
Also, for information: coverage of the 95% Welch interval and of a percentile bootstrap over seeds for a
difference of two means at n seeds (why the engine does not bootstrap; stats.py).

Targets (exit code 1 when one is missed): null_error_rate and claim 5's margin error <= ALPHA + 2 Monte-Carlo
standard errors, power >= 0.8, decided rate with one seed = 0.
"""
import argparse
import json
import math
import os
import random
import sys
import time

from . import simulate as S
from .claims import LOSS_MARGIN, TARGET_MAE_MAX, WALLCLOCK_RATIO_MIN
from .common import write_atomic
from .stats import ALPHA, INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, t_quantile

CLAIM_IDS = (1, 2, 3, 4, 5, 6)
WRONG_UNDER_NULL = {1: SUPPORTED, 2: SUPPORTED, 3: SUPPORTED, 4: SUPPORTED, 5: NOT_SUPPORTED, 6: SUPPORTED}
RIGHT_UNDER_EFFECT = {1: SUPPORTED, 2: SUPPORTED, 3: SUPPORTED, 4: SUPPORTED, 5: NOT_SUPPORTED, 6: SUPPORTED}
EQUIVALENCE = {3: NOT_SUPPORTED, 4: NOT_SUPPORTED, 5: SUPPORTED}
POWER_TARGET = 0.8


def _ratio_sd(p):
    return math.sqrt(p["sigma_ratio"] ** 2 + p["sigma_rep"] ** 2 / p["repeats"])


def scenarios(sigma, seeds):
    base = {**S.DEFAULTS, "sigma": sigma, "seeds": seeds}
    null = dict(base, sparsity_gain=0.0, mae=TARGET_MAE_MAX, key_effect=0.0, sandwich_effect=0.0, gain=0.0,
                ratio=WALLCLOCK_RATIO_MIN)
    d = 3 * sigma
    power = dict(base, sparsity_gain=d, mae=TARGET_MAE_MAX - d, key_effect=d, sandwich_effect=d, gain=d,
                 ratio=WALLCLOCK_RATIO_MIN + 3 * _ratio_sd(base))
    return {"null": null, "margin": dict(null, gain=LOSS_MARGIN), "power": power,
            "one-seed": dict(power, seeds=1), "equivalence": dict(null, seeds=20)}


def _count(sims, rng, params):
    counts = {c: {SUPPORTED: 0, NOT_SUPPORTED: 0, INCONCLUSIVE: 0} for c in CLAIM_IDS}
    for _ in range(sims):
        for cid, v in S.verdicts(rng, **params).items():
            counts[cid][v] += 1
    return counts


def interval_coverage(rng, sims, n, sigma, boot=400):
    """Coverage of the 95% Welch interval and the 95% percentile bootstrap (over seeds, each side resampled) for
    a difference of two means with n seeds each and true difference 0."""
    import numpy as np
    g = np.random.default_rng(rng.randrange(1 << 30))
    a = g.normal(0, sigma, (sims, n))
    b = g.normal(0, sigma, (sims, n))
    d = a.mean(1) - b.mean(1)
    se = np.sqrt(a.var(1, ddof=1) / n + b.var(1, ddof=1) / n)
    df = se ** 4 / ((a.var(1, ddof=1) / n) ** 2 / (n - 1) + (b.var(1, ddof=1) / n) ** 2 / (n - 1))
    t = np.array([t_quantile(0.975, x) for x in df])
    welch = np.mean(np.abs(d) <= t * se)
    ia = g.integers(0, n, (sims, boot, n))
    ib = g.integers(0, n, (sims, boot, n))
    ba = np.take_along_axis(a[:, None, :].repeat(boot, 1), ia, 2).mean(2)
    bb = np.take_along_axis(b[:, None, :].repeat(boot, 1), ib, 2).mean(2)
    bd = ba - bb
    lo, hi = np.quantile(bd, 0.025, axis=1), np.quantile(bd, 0.975, axis=1)
    pct = np.mean((lo <= 0) & (0 <= hi))
    return {"n": n, "sims": sims, "welch_t": float(welch), "percentile_bootstrap": float(pct), "nominal": 0.95}


def calibrate(sims=1000, seed=0, sigma=0.02, seeds=5, progress=None):
    t0 = time.time()
    sc = scenarios(sigma, seeds)
    counts = {}
    for i, (name, params) in enumerate(sc.items()):
        n = sims if name != "equivalence" else max(50, sims // 5)
        counts[name] = (n, _count(n, random.Random(seed * 1009 + i), params))
        if progress:
            progress(f"calibrate: {name}: {n} simulated suites ({time.time() - t0:.0f} s)")
    mc = lambda n: math.sqrt(ALPHA * (1 - ALPHA) / n)  # noqa: E731
    rows, misses = [], []
    for cid in CLAIM_IDS:
        nn, cn = counts["null"]
        npow, cp = counts["power"]
        n1, c1 = counts["one-seed"]
        ne, ce = counts["equivalence"]
        row = {"id": cid, "sims": nn,
               "null_error_rate": cn[cid][WRONG_UNDER_NULL[cid]] / nn,
               "null_decided_rate": (nn - cn[cid][INCONCLUSIVE]) / nn,
               "power": cp[cid][RIGHT_UNDER_EFFECT[cid]] / npow,
               "one_seed_decided_rate": (n1 - c1[cid][INCONCLUSIVE]) / n1,
               "null_verdicts": cn[cid], "power_verdicts": cp[cid]}
        if cid in EQUIVALENCE:
            row["equivalence_rate_20_seeds"] = ce[cid][EQUIVALENCE[cid]] / ne
        if cid == 5:
            nm, cm = counts["margin"]
            row["margin_error_rate"] = cm[5][SUPPORTED] / nm
        limit = ALPHA + 2 * mc(nn)
        ok = {"null_error_rate": row["null_error_rate"] <= limit, "power": row["power"] >= POWER_TARGET,
              "one_seed": row["one_seed_decided_rate"] == 0}
        if cid == 5:
            ok["margin_error_rate"] = row["margin_error_rate"] <= limit
        row["targets_met"] = all(ok.values())
        misses += [f"claim {cid}: {k}" for k, v in ok.items() if not v]
        rows.append(row)
    cov = interval_coverage(random.Random(seed + 7), sims, seeds, sigma)
    return {"schema": "skipbench.claims_calibration", "schema_version": 1,
            "settings": {"sims": sims, "seed": seed, "sigma": sigma, "seeds_per_configuration": seeds,
                         "effect_for_power": "3 sigma", "alpha": ALPHA, "power_target": POWER_TARGET,
                         "error_target": f"<= {ALPHA} + 2 Monte-Carlo standard errors "
                                         f"({ALPHA + 2 * mc(sims):.4f} at {sims} simulations)",
                         "generative_model": "reports/report_lib/simulate.py", "loss_margin": LOSS_MARGIN},
            "claims": rows, "interval_coverage": cov, "targets_met": not misses, "missed": misses,
            "seconds": round(time.time() - t0, 1)}


def table(res):
    head = f"{'claim':>5}  {'null error':>10}  {'power':>6}  {'1-seed decided':>14}  {'other':<30}  targets"
    lines = [head, "-" * len(head)]
    for r in res["claims"]:
        other = (f"margin error {r['margin_error_rate']:.3f}" if "margin_error_rate" in r else "")
        if "equivalence_rate_20_seeds" in r:
            other = (other + "; " if other else "") + f"equivalence@20 {r['equivalence_rate_20_seeds']:.2f}"
        lines.append(f"{r['id']:>5}  {r['null_error_rate']:>10.3f}  {r['power']:>6.3f}  "
                     f"{r['one_seed_decided_rate']:>14.3f}  {other:<30}  {'met' if r['targets_met'] else 'MISSED'}")
    c = res["interval_coverage"]
    lines.append(f"coverage of a nominal 95% interval for a difference of means, {c['n']} seeds each: Welch t "
                 f"{c['welch_t']:.3f}, percentile bootstrap over seeds {c['percentile_bootstrap']:.3f}")
    s = res["settings"]
    lines.append(f"{s['sims']} simulated suites per scenario, {s['seeds_per_configuration']} seeds, sigma "
                 f"{s['sigma']}, alpha {s['alpha']}; {res['seconds']} s")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write(f"skipbench: error: claims calibrate: {message} (usage: skipbench claims calibrate "
                         f"[--sims N] [--seed S] [--out FILE])\n")
        sys.exit(2)


def main(argv=None):
    ap = _Parser(prog="skipbench claims calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sims", type=int, default=1000, help="simulated suites per scenario (default 1000)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default 0)")
    ap.add_argument("--sigma", type=float, default=0.02, help="seed noise of losses, sparsities, MAEs (default 0.02)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per configuration (default 5)")
    ap.add_argument("--out", default="", help="also write the JSON here (atomically)")
    a = ap.parse_args(argv)
    if a.sims < 10:
        ap.error(f"--sims: must be >= 10, got {a.sims}")
    if not (a.sigma > 0 and math.isfinite(a.sigma)):
        ap.error(f"--sigma: must be a positive number, got {a.sigma}")
    if a.seeds < 2:
        ap.error(f"--seeds: must be >= 2 (one seed has no variance estimate), got {a.seeds}")
    res = calibrate(a.sims, a.seed, a.sigma, a.seeds, progress=lambda m: print(m, file=sys.stderr))
    if a.out:
        try:
            write_atomic(a.out, json.dumps(res, indent=1) + "\n")
        except OSError as e:
            sys.stderr.write(f"skipbench: error: {a.out}: cannot write ({e.strerror or e})\n")
            return 2
    print(table(res))
    if a.out:
        print(f"calibration: {os.path.abspath(a.out)}")
    if not res["targets_met"]:
        print("calibration: targets MISSED: " + "; ".join(res["missed"]), file=sys.stderr)
        return 1
    print("calibration: every target met")
    return 0
