"""Loss-vs-compute frontiers: the dense family's final validation loss as a function of estimated FLOPs per token,
and compute multipliers of other configurations against it.

  * >= 4 distinct compute points: a saturating power law L(C) = E + A * (C / C0)^(-alpha), C0 the smallest C,
    fitted by least squares on the per-configuration means (for each alpha, E and A are linear; alpha by a grid in
    log alpha refined by golden-section search). A fit with A <= 0 or alpha at the edge of [ALPHA_MIN, ALPHA_MAX]
    is rejected in favour of the next form.
  * otherwise (or when the fit is rejected): monotone piecewise-linear in log C through the isotonic (non-increasing)
    regression of the means: a deeper model never predicts a higher loss. Defined only inside the measured range.

A compute multiplier of a configuration at (C_x, L_x) is C_dense(L_x) / C_x: the dense compute needed to reach its
loss over the compute it uses (1 = no gain, 2 = as good as a dense model with twice the FLOPs). Outside the dense
range the power law extrapolates (flagged); the piecewise-linear form gives none.

Intervals come from the statistics module's jackknife over seeds (reports/report_lib/stats.py): every quantity here
is a function of per-configuration means.
"""
import functools
import math

ALPHA_MIN, ALPHA_MAX, GRID = 0.01, 4.0, 240
MIN_POWER_LAW_POINTS = 4


def _lstsq_ea(u, y):
    """E, A minimising sum (y - E - A u)^2; None when u is constant."""
    n = len(u)
    mu, my = sum(u) / n, sum(y) / n
    suu = sum((a - mu) ** 2 for a in u)
    if suu <= 0:
        return None
    a = sum((ui - mu) * (yi - my) for ui, yi in zip(u, y)) / suu
    return my - a * mu, a


def _sse(x, y, alpha):
    u = [xi ** (-alpha) for xi in x]
    ea = _lstsq_ea(u, y)
    if ea is None:
        return math.inf, None
    e, a = ea
    return sum((yi - e - a * ui) ** 2 for ui, yi in zip(u, y)), (e, a)


def fit_power_law(cs, ls):
    """{'E','A','alpha','c0','sse'} of L = E + A (C/c0)^-alpha through the points, or None when rejected."""
    pts = sorted(zip(cs, ls))
    if len({c for c, _ in pts}) < MIN_POWER_LAW_POINTS:
        return None
    c0 = pts[0][0]
    x, y = [c / c0 for c, _ in pts], [l for _, l in pts]
    la, lb = math.log(ALPHA_MIN), math.log(ALPHA_MAX)
    grid = [math.exp(la + (lb - la) * i / (GRID - 1)) for i in range(GRID)]
    vals = [_sse(x, y, a)[0] for a in grid]
    i = min(range(GRID), key=lambda k: vals[k])
    if i == 0 or i == GRID - 1:
        return None
    lo, hi = math.log(grid[i - 1]), math.log(grid[i + 1])
    g = (math.sqrt(5) - 1) / 2
    a_, b_ = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = _sse(x, y, math.exp(a_))[0], _sse(x, y, math.exp(b_))[0]
    for _ in range(60):
        if fa < fb:
            hi, b_, fb = b_, a_, fa
            a_ = hi - g * (hi - lo)
            fa = _sse(x, y, math.exp(a_))[0]
        else:
            lo, a_, fa = a_, b_, fb
            b_ = lo + g * (hi - lo)
            fb = _sse(x, y, math.exp(b_))[0]
    alpha = math.exp((lo + hi) / 2)
    sse, ea = _sse(x, y, alpha)
    if ea is None or ea[1] <= 0:
        return None
    return {"E": ea[0], "A": ea[1], "alpha": alpha, "c0": c0, "sse": sse}


def isotonic_decreasing(ys):
    """Pool-adjacent-violators: the non-increasing sequence closest to ys in least squares."""
    blocks = []  # [sum, count]
    for y in ys:
        blocks.append([y, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] < blocks[-1][0] / blocks[-1][1]:
            s, c = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
    out = []
    for s, c in blocks:
        out += [s / c] * c
    return out


class Frontier:
    """A fitted frontier: kind 'power_law' or 'piecewise_linear'; predict(C) and inverse(L)."""

    def __init__(self, cs, ls):
        pts = sorted(zip(cs, ls))
        self.cs, self.means = [c for c, _ in pts], [l for _, l in pts]
        self.c_min, self.c_max = self.cs[0], self.cs[-1]
        self.fit = fit_power_law(self.cs, self.means)
        self.kind = "power_law" if self.fit else "piecewise_linear"
        if not self.fit:
            self.iso = isotonic_decreasing(self.means)
            self.lx = [math.log(c) for c in self.cs]

    def predict(self, c):
        """Loss at compute c; None outside the dense range for the piecewise-linear form."""
        if self.fit:
            f = self.fit
            return f["E"] + f["A"] * (c / f["c0"]) ** (-f["alpha"])
        lc = math.log(c)
        xs, ys = self.lx, self.iso
        if len(xs) < 2 or lc < xs[0] - 1e-12 or lc > xs[-1] + 1e-12:
            return None
        for i in range(len(xs) - 1):
            if xs[i] - 1e-12 <= lc <= xs[i + 1] + 1e-12:
                if xs[i + 1] == xs[i]:
                    return ys[i]
                t = (lc - xs[i]) / (xs[i + 1] - xs[i])
                return ys[i] + t * (ys[i + 1] - ys[i])
        return None

    def inverse(self, loss):
        """Smallest compute whose predicted loss is <= loss; None when no compute reaches it (piecewise-linear:
        inside the dense range only; power law: loss must be above E)."""
        if self.fit:
            f = self.fit
            if loss <= f["E"]:
                return None
            return f["c0"] * (f["A"] / (loss - f["E"])) ** (1 / f["alpha"])
        xs, ys = self.lx, self.iso
        if loss > ys[0] + 1e-12 or loss < ys[-1] - 1e-12:
            return None
        for i in range(len(xs) - 1):
            y0, y1 = ys[i], ys[i + 1]
            if y1 - 1e-12 <= loss <= y0 + 1e-12:
                if y0 == y1:
                    return math.exp(xs[i])
                t = (y0 - loss) / (y0 - y1)
                return math.exp(xs[i] + t * (xs[i + 1] - xs[i]))
        return math.exp(xs[0]) if abs(loss - ys[0]) <= 1e-12 else None

    def in_range(self, c):
        return self.c_min * (1 - 1e-9) <= c <= self.c_max * (1 + 1e-9)

    def describe(self):
        d = {"kind": self.kind, "points": [{"flops": c, "loss": l} for c, l in zip(self.cs, self.means)],
             "flops_range": [self.c_min, self.c_max]}
        if self.fit:
            d["fit"] = {k: self.fit[k] for k in ("E", "A", "alpha", "c0", "sse")}
            d["formula"] = "L(C) = E + A * (C / c0)^(-alpha)"
        else:
            d["isotonic_loss"] = list(self.iso)
            d["formula"] = "piecewise linear in log C through the non-increasing (isotonic) fit of the means"
        return d


@functools.lru_cache(maxsize=4096)
def _cached(pairs):
    return Frontier([c for c, _ in pairs], [l for _, l in pairs])


def frontier_from_means(points, means):
    """points: [(name, flops)]; means: {name: loss mean}. A Frontier, or None with fewer than 2 distinct FLOPs.
    Cached: the jackknife asks for the same fit several times (gain, multiplier, band)."""
    cs = [c for _, c in points]
    if len({c for c in cs}) < 2:
        return None
    return _cached(tuple((c, means[n]) for n, c in points))


def multiplier(front, c_x, l_x):
    """C_dense(l_x) / c_x, or None when the frontier never reaches l_x."""
    c = front.inverse(l_x)
    return None if c is None or c_x <= 0 else c / c_x
