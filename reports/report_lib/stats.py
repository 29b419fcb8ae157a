"""Small statistics: summaries over seeds, pooled noise, piecewise-linear interpolation."""
import math

from .common import is_num


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


def pooled_std(a, b):
    """sqrt((s_a^2 + s_b^2) / 2) of two describe() results, or None when either has n < 2."""
    if a["std"] is None or b["std"] is None:
        return None
    return math.sqrt((a["std"] ** 2 + b["std"] ** 2) / 2)


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
