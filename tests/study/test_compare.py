"""Pairwise statistics against SciPy on fixed numbers, Holm's correction by hand, and the verdict sentences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wganlab.study.compare import holm, permutation_p, rank_variants, seeds_needed, verdict, welch

GAN = [3.0, 5.0, 3.0, 4.0, 2.0]
GP = [8.0, 8.0, 7.0, 8.0, 8.0]


def test_welch_matches_scipy_and_the_satterthwaite_interval():
    a, b = np.array([72.0, 80.0, 65.0]), np.array([110.0, 95.0, 130.0, 101.0])
    difference, low, high, p, test = welch(a, b)
    assert test == "welch"
    assert difference == pytest.approx(a.mean() - b.mean())
    assert p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
    va, vb = a.var(ddof=1) / 3, b.var(ddof=1) / 4
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 3)  # hand-written Welch–Satterthwaite
    half = stats.t.ppf(0.975, df) * math.sqrt(va + vb)
    assert (low, high) == (pytest.approx(difference - half), pytest.approx(difference + half))
    # SciPy's own confidence interval of the same test agrees
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_constant_seeds_use_the_exact_permutation_test():
    difference, low, high, p, test = welch(np.array([8.0, 8.0, 8.0]), np.array([3.0, 3.0, 3.0]))
    assert test == "permutation" and difference == 5.0 and low == high == 5.0
    assert p == pytest.approx(0.1)  # 2 of the 20 relabellings of 3 vs 3 are as extreme
    assert permutation_p(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == pytest.approx(1.0)
    assert welch(np.array([8.0, 8.0]), np.array([8.0, 8.0]))[3] == pytest.approx(1.0)


def test_one_seed_has_no_p_value():
    assert math.isnan(welch(np.array([1.0]), np.array([2.0, 3.0]))[3])


def test_holm_by_hand():
    # sorted: 0.01 x 4 = 0.04, 0.02 x 3 = 0.06, 0.03 x 2 = 0.06 (monotone), 0.5 x 1 = 0.5
    assert holm([0.03, 0.01, 0.5, 0.02]) == pytest.approx([0.06, 0.04, 0.5, 0.06])
    assert holm([0.4, 0.9]) == pytest.approx([0.8, 0.9])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1
    got = holm([0.01, math.nan, 0.02])  # a pair without a p-value does not count in m
    assert got[0] == pytest.approx(0.02) and math.isnan(got[1]) and got[2] == pytest.approx(0.02)


def test_ranking_orders_by_direction_and_corrects_all_pairs():
    values = {"gan": GAN, "wgan-gp": GP, "wgan-wc": [1.0, 2.0, 2.0, 1.0, 3.0]}
    ranking = rank_variants("8gaussians", "modes_covered", values, total=8)
    assert [name for name, _, _ in ranking.order] == ["wgan-gp", "gan", "wgan-wc"]  # higher is better
    raw = [stats.ttest_ind(values[a], values[b], equal_var=False).pvalue
           for a, b in (("wgan-gp", "gan"), ("wgan-gp", "wgan-wc"), ("gan", "wgan-wc"))]
    assert [p.p_holm for p in ranking.pairs] == pytest.approx(holm(raw))
    flipped = ranking.pair("gan", "wgan-gp")
    assert flipped.difference == pytest.approx(np.mean(GAN) - np.mean(GP)) and flipped.high < 0
    fid = rank_variants("mnist", "fid", {"a": [40.0, 42.0, 41.0], "b": [20.0, 22.0, 19.0]})
    assert fid.order[0][0] == "b"  # lower is better


def test_verdict_names_the_winner_the_beaten_and_the_untold():
    values = {"GAN": GAN, "WGAN-GP": GP, "WGAN-SN": [8.0, 7.0, 8.0, 8.0, 8.0]}
    sentence = verdict(rank_variants("8gaussians", "modes_covered", values, total=8), values)
    assert sentence.startswith("8gaussians: WGAN-GP covers more modes than GAN (7.8 vs 3.4 of 8, p = ")
    assert "no difference from WGAN-SN (7.8, p = 1) is detectable (5 seeds, Holm-corrected)." in sentence


def test_verdict_when_nothing_separates():
    values = {"a": [40.0, 50.0, 45.0], "b": [44.0, 39.0, 52.0]}
    assert "no difference in FID is detectable between the 2 variants with 3 seeds" in \
        verdict(rank_variants("mnist", "fid", values), values)


def test_verdict_names_pairs_that_separate_when_the_best_beats_nobody():
    # The demo's MNIST FIDs of 2026-12-02: WGAN-GP's mean is best but no pair with it survives Holm's correction,
    # while GAN against WGAN-WC does (raw p 0.0055 is the smallest of six: 6 x 0.0055 = 0.033).
    values = {"WGAN-GP": [44.22, 37.66, 37.89], "WGAN-SN": [52.88, 49.12, 45.84],
              "GAN": [82.53, 65.01, 50.69], "WGAN-WC": [176.93, 162.15, 214.07]}
    ranking = rank_variants("mnist", "fid", values)
    gan_wc = ranking.pair("GAN", "WGAN-WC")
    raw = stats.ttest_ind(values["GAN"], values["WGAN-WC"], equal_var=False).pvalue
    assert gan_wc.p_holm == pytest.approx(6 * raw) and gan_wc.p_holm < 0.05
    assert not any(ranking.pair("WGAN-GP", other).significant for other in ("WGAN-SN", "GAN", "WGAN-WC"))
    sentence = verdict(ranking, values)
    assert "no difference in FID is detectable between the 4 variants" not in sentence
    assert sentence == ("mnist: WGAN-GP has the best mean (FID 39.9), but with 3 seeds no difference from the others "
                        "is detectable; of the other pairs, GAN has a lower FID than WGAN-WC (66.1 vs 184, p = 0.033); "
                        "p-values Holm-corrected.")


def test_verdict_with_two_seeds_says_how_many_would_be_needed():
    values = {"a": [30.0, 40.0], "b": [60.0, 75.0]}
    sentence = verdict(rank_variants("mnist", "fid", values), values)
    assert "with 2 seeds the intervals cannot separate any two variants" in sentence
    assert f"about {seeds_needed(np.array(values['a']), np.array(values['b']))} seeds per variant" in sentence


def test_seeds_needed_against_the_normal_approximation():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 200), rng.normal(1, 1, 200)
    effect = abs(a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    normal = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / effect**2
    assert normal <= seeds_needed(a, b) <= normal + 2  # the t distribution needs slightly more
    assert seeds_needed(np.array([1.0, 1.0]), np.array([1.0, 1.0])) is None
