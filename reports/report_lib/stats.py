"""Statistics for the report and the claims engine, with seeds as the unit of replication.

  describe / per_layer    summaries over seeds (mean, sample std, n)
  jackknife               an estimate of any smooth function of per-configuration means, with a delete-one-seed
                          jackknife standard error and Welch–Satterthwaite degrees of freedom. For a difference of
                          two means it *is* Welch's t interval, for one mean the one-sample t interval (tested).
  welch, one_sample       those two special cases
  Estimate.ci             the t interval at a level
  difference_verdict      the three-outcome rule for a difference claim (direction, equivalence margin: TOST)
  null_gain_verdict       the rule for a null claim ("no gain larger than the margin")
  threshold_verdict       the rule for "the mean is below a threshold"
  fisher_greater          Fisher's exact test for "more failures on side a"
  seeds_needed            what would decide an inconclusive verdict at the observed spread

Why jackknife-t and not a percentile bootstrap over seeds: with 2-5 seeds per configuration a percentile bootstrap
interval is too narrow (it uses the plug-in std, sqrt((n-1)/n) of the sample std, and normal rather than t
quantiles); `skipbench claims calibrate` measures its coverage next to the engine's (reports/report_lib/calibrate.py).
"""
import math
from dataclasses import dataclass, field

from scipy import special as _sp
from scipy import stats as _st

from .common import is_num

ALPHA = 0.05  # every verdict: at most this error rate per one-sided test (intervals are 1 - ALPHA two-sided)
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


def describe(values):
    """{'mean','std','n','min','max'} over the finite values; std is the sample std (n-1), None when n < 2."""
    v = [float(x) for x in values if is_num(x)]
    n = len(v)
    if n == 0:
        return {"mean": None, "std": None, "n": 0, "min": None, "max": None}
    m = sum(v) / n
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1)) if n >= 2 else None
    return {"mean": m, "std": sd, "n": n, "min": min(v), "max": max(v)}


def per_layer(lists):
    """Element-wise describe() over equal-length lists: {'mean': [...], 'std': [...], 'n': k}; None if none."""
    lists = [l for l in lists if isinstance(l, list) and l]
    if not lists:
        return None
    length = min(len(l) for l in lists)
    cols = [describe([l[i] for l in lists]) for i in range(length)]
    return {"mean": [c["mean"] for c in cols], "std": [c["std"] for c in cols], "n": len(lists)}


def interp(xs, ys, x):
    """Piecewise-linear y(x) through points sorted by xs; None outside [xs[0], xs[-1]]."""
    if len(xs) < 2 or x < xs[0] or x > xs[-1]:
        return None
    for i in range(len(xs) - 1):
        x0, x1 = xs[i], xs[i + 1]
        if x0 <= x <= x1:
            if x1 == x0:
                return ys[i]
            t = (x - x0) / (x1 - x0)
            return ys[i] + t * (ys[i + 1] - ys[i])
    return None


def t_quantile(p, df):
    """Quantile of Student's t with df degrees of freedom (scipy.special.stdtrit: the fast ufunc behind t.ppf)."""
    return float(_sp.stdtrit(df, p))


@dataclass
class Estimate:
    """A point estimate with its standard error and degrees of freedom (None: no variance estimate, i.e. some
    configuration it depends on has a single seed). n: seeds per configuration used."""
    value: float
    se: float = None
    df: float = None
    n: dict = field(default_factory=dict)
    method: str = ""

    def ci(self, level=1 - ALPHA):
        """Two-sided t interval (lo, hi), or None without a variance estimate."""
        if self.value is None or self.se is None or self.df is None:
            return None
        if self.se == 0:
            return (self.value, self.value)
        h = t_quantile(0.5 + level / 2, self.df) * self.se
        return (self.value - h, self.value + h)

    def to_json(self, level=1 - ALPHA):
        c = self.ci(level)
        return {"value": self.value, "se": self.se, "df": self.df, "ci_level": level,
                "ci": list(c) if c else None, "n": dict(self.n), "method": self.method}


def _mean(v):
    return sum(v) / len(v)


def jackknife(samples, fn, method="jackknife-t"):
    """Estimate of fn(means) where means = {name: mean of samples[name]}: delete-one-seed jackknife variance per
    configuration, (n-1)/n * sum((theta_-i - mean theta_-i)^2), summed over configurations, with Welch–Satterthwaite
    df = (sum v_k)^2 / sum(v_k^2 / (n_k - 1)). fn may return None (undefined): then so is the estimate; a replicate
    that is undefined leaves the estimate without an interval. Configurations with one seed: no interval."""
    samples = {k: [float(x) for x in v] for k, v in samples.items()}
    n = {k: len(v) for k, v in samples.items()}
    if not samples or any(c == 0 for c in n.values()):
        return Estimate(None, n=n, method=method)
    means = {k: _mean(v) for k, v in samples.items()}
    value = fn(means)
    if value is None:
        return Estimate(None, n=n, method=method)
    if any(c < 2 for c in n.values()):
        return Estimate(value, n=n, method=method)
    parts = []
    for k, v in samples.items():
        s, c = sum(v), len(v)
        th = [fn({**means, k: (s - x) / (c - 1)}) for x in v]
        if any(t is None or not math.isfinite(t) for t in th):
            return Estimate(value, n=n, method=method)
        tb = _mean(th)
        parts.append(((c - 1) / c * sum((t - tb) ** 2 for t in th), c - 1))
    var = sum(p for p, _ in parts)
    den = sum(p * p / d for p, d in parts)
    df = var * var / den if den > 0 else float(min(d for _, d in parts))
    return Estimate(value, math.sqrt(var), df, n, method)


def welch(a, b):
    """mean(a) - mean(b) with Welch's t interval."""
    return jackknife({"a": a, "b": b}, lambda m: m["a"] - m["b"], "Welch t")


def one_sample(x):
    """mean(x) with the one-sample t interval."""
    return jackknife({"x": x}, lambda m: m["x"], "one-sample t")


def _pct(x):
    """0.95 -> '95%', 0.975 -> '97.5%', 0.98333 -> '98.3%'."""
    return f"{100 * x:.1f}".rstrip("0").rstrip(".") + "%"


def _ci_text(est, level=1 - ALPHA):
    c = est.ci(level)
    return f"[{c[0]:+.4g}, {c[1]:+.4g}]" if c else "n/a"


def difference_verdict(est, margin, alpha=ALPHA):
    """A claim that the effect is positive. SUPPORTED: the (1-alpha) CI lies above 0. NOT SUPPORTED: it lies below 0,
    or the (1-2 alpha) CI lies inside (-margin, +margin) (two one-sided tests at alpha: equivalence). Otherwise, or
    without a variance estimate, INCONCLUSIVE. Returns (verdict, reason)."""
    if est.value is None:
        return INCONCLUSIVE, "no estimate"
    c = est.ci(1 - alpha)
    if c is None:
        return INCONCLUSIVE, "no interval: a configuration it needs has one seed"
    if c[0] > 0:
        return SUPPORTED, f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} lies above 0"
    if c[1] < 0:
        return NOT_SUPPORTED, f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} lies below 0 (the opposite effect)"
    e = est.ci(1 - 2 * alpha)
    if -margin < e[0] and e[1] < margin:
        return NOT_SUPPORTED, (f"equivalent: the {_pct(1 - 2 * alpha)} CI {_ci_text(est, 1 - 2 * alpha)} lies inside "
                               f"±{margin:g} (two one-sided tests)")
    return INCONCLUSIVE, (f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} contains 0 and is not inside "
                          f"±{margin:g}")


def null_gain_verdict(gain, margin, alpha=ALPHA):
    """A claim that there is no gain larger than the margin. SUPPORTED: the (1-2 alpha) CI's upper end is below the
    margin (a one-sided test at alpha rules out a gain >= margin). NOT SUPPORTED: the (1-alpha) CI lies above 0 and
    reaches the margin (a real gain that is not ruled out to be small). Otherwise INCONCLUSIVE."""
    if gain.value is None:
        return INCONCLUSIVE, "no estimate"
    c = gain.ci(1 - alpha)
    if c is None:
        return INCONCLUSIVE, "no interval: a configuration it needs has one seed"
    e = gain.ci(1 - 2 * alpha)
    if e[1] < margin:
        return SUPPORTED, (f"the one-sided {_pct(1 - alpha)} bound {e[1]:+.4g} rules out a gain of {margin:g} or more")
    if c[0] > 0:
        return NOT_SUPPORTED, f"a gain: the {_pct(1 - alpha)} CI {_ci_text(gain, 1 - alpha)} lies above 0"
    return INCONCLUSIVE, (f"the {_pct(1 - alpha)} CI {_ci_text(gain, 1 - alpha)} contains 0 and a gain of "
                          f"{margin:g} is not ruled out")


def threshold_verdict(est, threshold, alpha=ALPHA):
    """A claim that the mean is below the threshold. SUPPORTED: the (1-alpha) CI lies below it; NOT SUPPORTED: above
    it; otherwise INCONCLUSIVE."""
    if est.value is None:
        return INCONCLUSIVE, "no estimate"
    c = est.ci(1 - alpha)
    if c is None:
        return INCONCLUSIVE, "no interval: one seed"
    if c[1] < threshold:
        return SUPPORTED, f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} lies below {threshold:g}"
    if c[0] > threshold:
        return NOT_SUPPORTED, f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} lies above {threshold:g}"
    return INCONCLUSIVE, f"the {_pct(1 - alpha)} CI {_ci_text(est, 1 - alpha)} contains {threshold:g}"


def fisher_greater(a_fail, a_n, b_fail, b_n):
    """One-sided p-value of Fisher's exact test that side a fails more often than side b."""
    return float(_st.fisher_exact([[a_fail, a_n - a_fail], [b_fail, b_n - b_fail]], alternative="greater")[1])


def seeds_needed(est, target, alpha=ALPHA, two_sided=True, n_max=1000):
    """Seeds per configuration that would bring the CI half-width below target at the observed standard error,
    assuming every configuration gets that many (se scales as sqrt(n0 / n), df as (n - 1) / (n0 - 1)). None
    without a variance estimate or when target <= 0; n_max + 1 when more than n_max."""
    if est.se is None or est.df is None or not target or target <= 0:
        return None
    n0 = min(est.n.values()) if est.n else None
    if not n0 or n0 < 2:
        return None
    if est.se == 0:
        return n0
    p = 1 - alpha / 2 if two_sided else 1 - alpha

    def ok(n):
        df = max(1.0, est.df * (n - 1) / (n0 - 1))
        return t_quantile(p, df) * est.se * math.sqrt(n0 / n) < target

    if not ok(n_max):
        return n_max + 1
    lo, hi = 1, n_max  # ok(hi); the half-width falls with n, so bisect for the first n that is ok
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return max(2, hi)
