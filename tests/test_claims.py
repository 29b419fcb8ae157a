#!/usr/bin/env python3
"""test_claims.py: the claims engine (reports/report_lib/{stats,frontier,claims}.py) on hand-computed numbers and
planted effects.

  * statistics: Welch and one-sample intervals equal scipy's; the jackknife of a linear function of means equals
    the analytic Welch–Satterthwaite interval; each decision rule on hand-made estimates; seeds needed by brute force;
  * frontiers: a power law is recovered from exact and from noisy points; isotonic regression by hand; the
    piecewise-linear form refuses to extrapolate; a point placed on a known frontier has multiplier 1 in its interval;
  * every claim on simulated suites (reports/report_lib/simulate.py, the generator `skipbench claims calibrate`
    uses): a clear effect with several seeds is decided the right way, no effect with many seeds gives the
    equivalence verdict, one seed is inconclusive, an effect in the opposite direction is decided against the claim;
  * claim 6 ignores training evidence and single timings; an old (v1) eval file still renders as inconclusive.
Usage: .venv/bin/python tests/test_claims.py
"""
import math
import os
import random
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reports"))

from scipy import stats as st  # noqa: E402

from report_lib import simulate as S  # noqa: E402
from report_lib.claims import LOSS_MARGIN, evaluate_peers  # noqa: E402
from report_lib.suite import aggregate, summarize_run  # noqa: E402
from report_lib.frontier import Frontier, fit_power_law, isotonic_decreasing, multiplier  # noqa: E402
from report_lib.stats import (INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Estimate, difference_verdict,  # noqa: E402
                              jackknife, null_gain_verdict, one_sample, seeds_needed, t_quantile, threshold_verdict,
                              welch)

A = [2.31, 2.35, 2.28, 2.40, 2.33]
B = [2.20, 2.26, 2.19, 2.30]


class Statistics(unittest.TestCase):
    def test_welch_equals_scipy(self):
        e = welch(A, B)
        ref = st.ttest_ind(A, B, equal_var=False).confidence_interval(0.95)
        self.assertAlmostEqual(e.value, sum(A) / 5 - sum(B) / 4, places=12)
        self.assertAlmostEqual(e.ci()[0], ref.low, places=10)
        self.assertAlmostEqual(e.ci()[1], ref.high, places=10)

    def test_one_sample_equals_scipy(self):
        ref = st.ttest_1samp(A, 0).confidence_interval(0.9)
        c = one_sample(A).ci(0.9)
        self.assertAlmostEqual(c[0], ref.low, places=10)
        self.assertAlmostEqual(c[1], ref.high, places=10)

    def test_jackknife_of_a_linear_combination_is_welch_satterthwaite(self):
        C = [1.0, 1.3, 0.9]
        e = jackknife({"a": A, "b": B, "c": C}, lambda m: m["a"] - 0.25 * m["b"] - 0.75 * m["c"])
        var = lambda x: sum((v - sum(x) / len(x)) ** 2 for v in x) / (len(x) - 1)  # noqa: E731
        parts = [var(A) / 5, 0.0625 * var(B) / 4, 0.5625 * var(C) / 3]
        self.assertAlmostEqual(e.se, math.sqrt(sum(parts)), places=12)
        self.assertAlmostEqual(e.df, sum(parts) ** 2 / (parts[0] ** 2 / 4 + parts[1] ** 2 / 3 + parts[2] ** 2 / 2),
                               places=9)

    def test_one_seed_has_no_interval(self):
        e = welch([2.0], B)
        self.assertIsNotNone(e.value)
        self.assertIsNone(e.ci())
        self.assertEqual(difference_verdict(e, 0.02)[0], INCONCLUSIVE)
        self.assertEqual(null_gain_verdict(e, 0.02)[0], INCONCLUSIVE)
        self.assertEqual(threshold_verdict(e, 0.1)[0], INCONCLUSIVE)

    def test_difference_rule(self):
        big = 10000.0  # df: t quantiles close to normal ones
        self.assertEqual(difference_verdict(Estimate(0.05, 0.01, big), 0.02)[0], SUPPORTED)       # CI [0.03, 0.07]
        self.assertEqual(difference_verdict(Estimate(-0.05, 0.01, big), 0.02)[0], NOT_SUPPORTED)  # other side
        # 90% CI 0.003 +- 1.645*0.005 = [-0.0052, 0.0112], inside +-0.02: equivalent
        self.assertEqual(difference_verdict(Estimate(0.003, 0.005, big), 0.02)[0], NOT_SUPPORTED)
        # 95% CI 0.01 +- 0.0196 contains 0; 90% CI [-0.0064, 0.0264] leaves +-0.02
        self.assertEqual(difference_verdict(Estimate(0.01, 0.01, big), 0.02)[0], INCONCLUSIVE)
        # 95% CI [0.0004, 0.0396]: just above zero
        self.assertEqual(difference_verdict(Estimate(0.02, 0.01, big), 0.02)[0], SUPPORTED)
        # at alpha 0.01 the same estimate is not decided (99% CI 0.02 +- 0.0258)
        self.assertEqual(difference_verdict(Estimate(0.02, 0.01, big), 0.02, alpha=0.01)[0], INCONCLUSIVE)

    def test_null_gain_rule(self):
        big = 10000.0
        # one-sided 95% bound 0.005 + 1.645*0.005 = 0.0132 < 0.02: supported
        self.assertEqual(null_gain_verdict(Estimate(0.005, 0.005, big), 0.02)[0], SUPPORTED)
        # a gain of 0.05 +- 0.0196: a real gain, not small
        self.assertEqual(null_gain_verdict(Estimate(0.05, 0.01, big), 0.02)[0], NOT_SUPPORTED)
        # bound 0.01 + 0.01645 = 0.026 >= 0.02 and the CI contains 0
        self.assertEqual(null_gain_verdict(Estimate(0.01, 0.01, big), 0.02)[0], INCONCLUSIVE)
        # a significant but negligible gain (CI [0.006, 0.010]): supported, below the margin
        self.assertEqual(null_gain_verdict(Estimate(0.008, 0.001, big), 0.02)[0], SUPPORTED)
        # a loss (gated much worse than dense): supported
        self.assertEqual(null_gain_verdict(Estimate(-0.3, 0.01, big), 0.02)[0], SUPPORTED)

    def test_threshold_rule(self):
        big = 10000.0
        self.assertEqual(threshold_verdict(Estimate(0.05, 0.01, big), 0.1)[0], SUPPORTED)
        self.assertEqual(threshold_verdict(Estimate(0.15, 0.01, big), 0.1)[0], NOT_SUPPORTED)
        self.assertEqual(threshold_verdict(Estimate(0.095, 0.01, big), 0.1)[0], INCONCLUSIVE)

    def test_seeds_needed_matches_brute_force(self):
        e = welch(A, B)
        target = 0.02
        n = seeds_needed(e, target)
        n0 = min(e.n.values())
        half = lambda k: t_quantile(0.975, e.df * (k - 1) / (n0 - 1)) * e.se * math.sqrt(n0 / k)  # noqa: E731
        self.assertLess(half(n), target)
        self.assertGreaterEqual(half(n - 1), target)
        self.assertIsNone(seeds_needed(Estimate(0.1), 0.02))


class Frontiers(unittest.TestCase):
    E, A_, ALPHA = 3.1, 1.4, 0.55
    CS = [1e6, 2e6, 3.5e6, 5e6, 8e6]

    def law(self, c):
        return self.E + self.A_ * (c / self.CS[0]) ** (-self.ALPHA)

    def test_power_law_recovered_from_exact_points(self):
        f = fit_power_law(self.CS, [self.law(c) for c in self.CS])
        self.assertAlmostEqual(f["E"], self.E, delta=1e-4)
        self.assertAlmostEqual(f["A"], self.A_, delta=1e-4)
        self.assertAlmostEqual(f["alpha"], self.ALPHA, delta=1e-4)

    def test_power_law_recovered_from_noisy_points(self):
        # noise 0.002 nats on 5 points: E within 0.1, alpha within 0.15, the curve within 0.005 over the range
        rng = random.Random(4)
        f = fit_power_law(self.CS, [self.law(c) + rng.gauss(0, 0.002) for c in self.CS])
        self.assertAlmostEqual(f["E"], self.E, delta=0.1)
        self.assertAlmostEqual(f["alpha"], self.ALPHA, delta=0.15)
        fr = Frontier(self.CS, [self.law(c) + rng.gauss(0, 0.002) for c in self.CS])
        for c in (1.2e6, 3e6, 7e6):
            self.assertAlmostEqual(fr.predict(c), self.law(c), delta=0.005)

    def test_rising_losses_are_no_power_law(self):
        self.assertIsNone(fit_power_law(self.CS, [3.0, 3.1, 3.2, 3.3, 3.4]))
        self.assertIsNone(fit_power_law(self.CS[:3], [self.law(c) for c in self.CS[:3]]))  # < 4 points

    def test_isotonic_by_hand(self):
        self.assertEqual(isotonic_decreasing([3.0, 2.0, 2.5, 1.0]), [3.0, 2.25, 2.25, 1.0])
        self.assertEqual(isotonic_decreasing([1.0, 2.0, 3.0]), [2.0, 2.0, 2.0])

    def test_piecewise_linear_form(self):
        fr = Frontier([1e6, 4e6, 16e6], [3.0, 2.8, 2.7])
        self.assertEqual(fr.kind, "piecewise_linear")
        self.assertAlmostEqual(fr.predict(2e6), 2.9, places=12)  # halfway in log C
        self.assertIsNone(fr.predict(0.5e6))
        self.assertIsNone(fr.predict(20e6))
        self.assertAlmostEqual(fr.inverse(2.9), 2e6, delta=1e-3)
        self.assertAlmostEqual(multiplier(fr, 1e6, 2.9), 2.0, places=6)
        self.assertIsNone(fr.inverse(2.6))  # better than the deepest dense model: not reached inside the range

    def test_point_on_the_frontier_has_multiplier_one(self):
        c = S.claim(random.Random(11), 5, seeds=8)
        d = next(x for x in c["evidence"]["details"]["comparisons"] if x["configuration"] == "gated-key")
        lo, hi = d["multiplier"]["ci"]
        self.assertLess(lo, 1.0)
        self.assertGreater(hi, 1.0)
        self.assertAlmostEqual(d["multiplier"]["value"], 1.0, delta=0.1)
        self.assertEqual(d["frontier_kind"], "power_law")


class Peers(unittest.TestCase):
    """The peers' rows (claims.evaluate_peers): a peer configuration planted below or above the dense frontier, on
    estimated FLOPs and on measured time (dense and peer timings proportional to their FLOPs), and without
    timings (not applicable); a forced_skip benchmark configuration is not a peer."""

    def suite(self, gain, timings=True, seeds=6, rng=None):
        rng = rng or random.Random(3)
        runs = []

        def timed(L, loss, name, variant, s):
            c = S.C_FIXED + L * S.C_BLOCK
            t = [4096 * c * 1e-12 * (1 + 0.002 * rng.random()) for _ in range(5)] if timings else None
            return S.make_run(name, s, L, variant, loss, timings=(t, t) if t else None)
        for L in (2, 4, 6, 8):
            runs += [timed(L, S.true_frontier(S.C_FIXED + L * S.C_BLOCK) + rng.gauss(0, 0.01), f"dense-L{L}",
                           "dense", s) for s in range(seeds)]
        truth = S.true_frontier(S.C_FIXED + 5 * S.C_BLOCK)
        runs += [timed(5, truth - gain + rng.gauss(0, 0.01), "mod-c", "mod", s) for s in range(seeds)]
        runs += [timed(5, truth, "forced-s", "forced_skip", s) for s in range(seeds)]
        summaries = [summarize_run(r) for r in runs]
        return evaluate_peers(summaries, aggregate(summaries), runs)

    def test_a_planted_gain_beats_dense_on_both_bases_and_a_loss_does_not(self):
        rows = self.suite(0.15)
        self.assertEqual({r["configuration"] for r in rows}, {"mod-c"})  # forced_skip is a benchmark, not a peer
        self.assertEqual([r["basis"] for r in rows], ["estimated FLOPs", "measured time"])
        for r in rows:
            self.assertEqual(r["answer"], "beats dense", r)
            self.assertAlmostEqual(r["gain"], 0.15, delta=0.03)
            self.assertGreater(r["multiplier"]["value"], 1.0)
        for r in self.suite(-0.15):
            self.assertEqual(r["answer"], "does not beat dense by the margin", r)
            self.assertLess(r["multiplier"]["value"] or 0.0, 1.0)

    def test_without_timings_the_time_basis_is_not_applicable(self):
        rows = self.suite(0.15, timings=False)
        self.assertEqual(rows[0]["answer"], "beats dense")
        self.assertEqual(rows[1]["verdict"], "not applicable")
        self.assertIn("no eval --hard-skip --repeat timings", rows[1]["text"])


def verdict(cid, seed=1, **kw):
    return S.claim(random.Random(seed), cid, **kw)["verdict"]


class PlantedClaims(unittest.TestCase):
    """Each claim: clear effect, no effect with many seeds, one seed, opposite effect."""
    sd = 0.02

    def test_claim1_gates_learn(self):
        self.assertEqual(verdict(1, sparsity_gain=0.15), SUPPORTED)
        self.assertEqual(verdict(1, sparsity_gain=0.0, seeds=40, sigma=0.01), NOT_SUPPORTED)
        self.assertEqual(verdict(1, sparsity_gain=0.15, seeds=1), INCONCLUSIVE)
        self.assertEqual(verdict(1, sparsity_gain=-0.15), NOT_SUPPORTED)

    def test_claim1_needs_the_initial_state(self):
        runs = S.make_suite(random.Random(2), sparsity_gain=0.2)
        for r in runs:
            r["initial_sparsity"] = None
        c = S.evaluate(runs)[0]
        self.assertEqual(c["verdict"], INCONCLUSIVE)
        self.assertIn("initial", c["evidence"]["details"][0]["reason"])

    def test_claim2_targets(self):
        self.assertEqual(verdict(2, mae=0.02), SUPPORTED)
        self.assertEqual(verdict(2, mae=0.02, seeds=1), INCONCLUSIVE)
        self.assertEqual(verdict(2, mae=0.25), NOT_SUPPORTED)

    def test_claim3_sandwich(self):
        self.assertEqual(verdict(3, sandwich_effect=0.15), SUPPORTED)
        self.assertEqual(verdict(3, seeds=30), NOT_SUPPORTED)  # equivalence
        self.assertEqual(verdict(3, sandwich_effect=0.15, seeds=1), INCONCLUSIVE)
        self.assertEqual(verdict(3, sandwich_effect=-0.15), NOT_SUPPORTED)

    def test_claim3_divergence_by_fisher(self):
        self.assertEqual(verdict(3, pre_diverge=5), SUPPORTED)         # 5 of 5 vs 0 of 5: p = 1/252
        self.assertEqual(verdict(3, pre_diverge=2), INCONCLUSIVE)      # 2 of 5 vs 0 of 5: p = 0.22
        c = S.claim(random.Random(1), 3, pre_diverge=2)
        self.assertIn("Fisher", c["reason"])
        self.assertIn("seeds of each decide it", c["decide"])

    def test_claim4_key_masking(self):
        self.assertEqual(verdict(4, key_effect=0.15), SUPPORTED)
        self.assertEqual(verdict(4, seeds=30), NOT_SUPPORTED)  # equivalence
        self.assertEqual(verdict(4, key_effect=0.15, seeds=1), INCONCLUSIVE)
        self.assertEqual(verdict(4, key_effect=-0.15), NOT_SUPPORTED)

    def test_claim5_frontier(self):
        self.assertEqual(verdict(5, gain=0.15), NOT_SUPPORTED)  # gated beats dense
        self.assertEqual(verdict(5, gain=0.0, seeds=30), SUPPORTED)  # a gain >= margin ruled out
        self.assertEqual(verdict(5, gain=0.15, seeds=1), INCONCLUSIVE)
        self.assertEqual(verdict(5, gain=-0.15), SUPPORTED)  # gated clearly worse: no gain
        # with 3 dense depths the frontier is piecewise linear; the same planted gain is found
        self.assertEqual(verdict(5, gain=0.15, dense_depths=(2, 5, 8)), NOT_SUPPORTED)
        c = S.claim(random.Random(1), 5, gain=0.15, dense_depths=(2, 5, 8))
        self.assertEqual(c["evidence"]["details"]["comparisons"][0]["frontier_kind"], "piecewise_linear")

    def test_claim5_outside_the_dense_range(self):
        c = S.claim(random.Random(1), 5, dense_depths=(2, 4), gated_sparsity=0.9)  # 0.8 blocks: below L=2
        d = c["evidence"]["details"]["comparisons"][0]
        self.assertEqual(d["verdict"], INCONCLUSIVE)
        self.assertIn("outside the dense range", d["reason"])

    def test_claim6_wallclock(self):
        self.assertEqual(verdict(6, ratio=1.0), SUPPORTED)
        self.assertEqual(verdict(6, ratio=0.5), NOT_SUPPORTED)
        self.assertEqual(verdict(6, ratio=1.0, seeds=1), INCONCLUSIVE)  # repetitions alone are timing noise
        c = S.claim(random.Random(1), 6, ratio=1.0, seeds=1)
        self.assertIn("one seed", c["reason"])

    def test_claim6_needs_repeated_real_skipping(self):
        self.assertEqual(verdict(6, with_timings=False), INCONCLUSIVE)  # training evidence only
        c = S.claim(random.Random(1), 6, with_timings=False)
        self.assertIn("soft gates compute every block", c["reason"])
        runs = S.make_suite(random.Random(1), ratio=1.0)
        for r in runs:  # a v1 eval file: one timing per mode, no repeats
            if r["evals"]:
                del r["evals"]["hard_skip"]["repeats"]
        c = S.evaluate(runs)[5]
        self.assertEqual(c["verdict"], INCONCLUSIVE)
        self.assertIn("no repeated timings", c["reason"])

    def test_every_inconclusive_verdict_says_what_would_decide_it(self):
        for kw in ({}, {"seeds": 1}, {"seeds": 2, "gain": 0.01}):
            for c in S.evaluate(S.make_suite(random.Random(5), **kw)):
                if c["verdict"] == INCONCLUSIVE:
                    self.assertTrue(c["decide"], f"claim {c['id']} with {kw}: no 'what would decide it'")

    def test_a_claim_with_nothing_to_compare_says_what_to_add(self):
        runs = [r for r in S.make_suite(random.Random(5)) if r["entry"]["name"] not in ("gated-pre", "gated-none")]
        cl = {c["id"]: c for c in S.evaluate(runs)}
        for cid in (3, 4):
            self.assertEqual(cl[cid]["verdict"], INCONCLUSIVE)
            self.assertIn("Add", cl[cid]["decide"])

    def test_margins_are_stated(self):
        for c in S.evaluate(S.make_suite(random.Random(5))):
            self.assertTrue(c["margin"]["why"])
            self.assertIn(f"{c['margin']['value']:g}", c["test"] + c["margin"]["why"])
        self.assertEqual(LOSS_MARGIN, 0.02)


if __name__ == "__main__":
    unittest.main(verbosity=1)
