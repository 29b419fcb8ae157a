"""seed_stats.py: the one interval the study summaries use (prune_summary.py, peers_summary.py): mean and 95%
Student-t interval over seeds, the unit; with one seed the interval is None (a single seed decides nothing)."""
import math

from scipy import stats


def interval(xs):
    n = len(xs)
    m = sum(xs) / n
    if n < 2:
        return m, None, None
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    h = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return m, m - h, m + h
