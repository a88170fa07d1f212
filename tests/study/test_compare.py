"""Pairwise statistics against SciPy on fixed numbers, Holm's correction by hand, and the verdict sentences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wganlab.study.compare import (
    DIFFERENT,
    NOT_SEPARABLE,
    goal_share,
    goal_text,
    holm,
    permutation_floor,
    permutation_p,
    rank_variants,
    seeds_needed,
    verdict,
    welch,
)

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
    # bounded counts: the exact permutation test (all 252 relabellings of 5 vs 5), Holm over the three pairs
    raw = [stats.permutation_test((values[a], values[b]), lambda x, y: np.mean(x) - np.mean(y),
                                  n_resamples=np.inf).pvalue
           for a, b in (("wgan-gp", "gan"), ("wgan-gp", "wgan-wc"), ("gan", "wgan-wc"))]
    assert raw[0] == pytest.approx(2 / 252) and raw[1] == pytest.approx(2 / 252)  # every seed apart: the floor
    assert [p.p_holm for p in ranking.pairs] == pytest.approx(holm(raw))
    assert {p.test for p in ranking.pairs} == {"permutation"} and all(p.family == 3 for p in ranking.pairs)
    flipped = ranking.pair("gan", "wgan-gp")
    assert flipped.difference == pytest.approx(np.mean(GAN) - np.mean(GP)) and math.isnan(flipped.high)
    fid = rank_variants("mnist", "fid", {"a": [40.0, 42.0, 41.0], "b": [20.0, 22.0, 19.0]})
    assert fid.order[0][0] == "b"  # lower is better
    assert fid.pairs[0].test == "welch" and fid.pairs[0].high < 0


def test_a_claims_family_is_its_own_pairs():
    values = {"a": [40.0, 42.0, 41.0], "b": [20.0, 22.0, 19.0], "c": [30.0, 31.0, 29.5]}
    whole = rank_variants("mnist", "fid", values)
    claim = rank_variants("mnist", "fid", values, pairs=[("a", "b")])
    assert len(whole.pairs) == 3 and len(claim.pairs) == 1 and claim.pairs[0].family == 1
    raw = stats.ttest_ind(values["b"], values["a"], equal_var=False).pvalue
    assert claim.pair("a", "b").p_holm == pytest.approx(raw)  # not multiplied by the study's other pairs
    assert whole.pair("a", "b").p_holm > claim.pair("a", "b").p_holm


def test_verdict_names_the_winner_the_beaten_and_the_untold():
    values = {"GAN": GAN, "WGAN-GP": GP, "WGAN-SN": [8.0, 7.0, 8.0, 8.0, 8.0]}
    sentence = verdict(rank_variants("8gaussians", "modes_covered", values, total=8), values)
    assert sentence.startswith("8gaussians: WGAN-GP covers more modes than GAN (7.8 vs 3.4 of 8, p = ")
    assert "no difference from WGAN-SN (7.8, p = 1) is detectable (5 seeds, Holm-corrected over 3 pairs)." in sentence


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
    assert sentence.startswith("mnist: a has the lowest FID (35; next b, 67.5), but with 2 seeds per variant no "
                               "pair is decided (at least 3 each are needed)")
    assert f"about {seeds_needed(np.array(values['a']), np.array(values['b']))} seeds per variant" in sentence


def test_the_sentence_and_the_pairs_table_agree_on_two_seeds():
    """The issue's study: seeds 0 and 1 of wgan-gp against gan-plain said "cannot separate" in the sentence
    while the table said "different" (Welch p = 0.049 on 2 seeds)."""
    from wganlab.study.aggregate import Comparison
    from wganlab.study.tables import comparison_table

    for metric, values, total in (("modes_covered", {"wgan-gp": [7.0, 7.0], "gan-plain": [0.0, 1.0]}, 8),
                                  ("w1", {"wgan-gp": [0.20, 0.22], "gan-plain": [1.20, 1.28]}, None)):
        ranking = rank_variants("8gaussians", metric, values, total)
        sentence = verdict(ranking, values)
        _, rows = comparison_table(Comparison(ranking, values))
        assert [row[-1] for row in rows] == ["too few seeds"] and "no pair is decided" in sentence
    assert sentence.startswith("8gaussians: wgan-gp has the lowest W1 to real points (0.21; next gan-plain, 1.24)")
    enough = {"wgan-gp": [0.20, 0.22, 0.21], "gan-plain": [1.20, 1.28, 1.25]}
    ranking = rank_variants("8gaussians", "w1", enough)
    _, rows = comparison_table(Comparison(ranking, enough))
    assert rows[0][-1] == "different" and "wgan-gp has a lower W1 to real points than gan-plain" in \
        verdict(ranking, enough)


def test_seeds_needed_when_no_seed_varies_and_the_permutation_floor():
    same_a, same_b = np.array([8.0, 8.0]), np.array([3.0, 3.0])
    assert permutation_floor(2, 2) == pytest.approx(1 / 3) and permutation_floor(3, 3) == pytest.approx(0.1)
    assert permutation_floor(4, 4) == pytest.approx(2 / 70)
    assert seeds_needed(same_a, same_b) == 4  # 2/70 < 0.05: the first size whose best p can pass
    assert seeds_needed(same_a, same_b, family=6) == 5  # Holm's first step: 6 x 2/252 = 0.048 < 0.05
    assert seeds_needed(same_a, same_b, family=10) == 6  # 10 x 2/252 is not; 10 x 2/924 is
    assert seeds_needed(np.array([1.0, 1.0]), np.array([1.0, 1.0])) is None
    # with a spread the power calculation runs at 0.05 / m: more pairs need more seeds
    a, b = np.array([30.0, 40.0, 35.0]), np.array([50.0, 62.0, 55.0])
    assert seeds_needed(a, b, family=6) > seeds_needed(a, b)
    values = {"a": [8.0, 8.0, 8.0], "b": [3.0, 3.0, 3.0], "c": [1.0, 1.0, 1.0]}
    sentence = verdict(rank_variants("8gaussians", "modes_covered", values, total=8), values)
    assert sentence.endswith("with these seeds the exact test's smallest p is 0.10 (x 3 pairs for Holm), so no "
                             "verdict was possible: 5 seeds each could give one.")


def test_k_of_n_seeds_with_the_clopper_pearson_interval():
    for k, n in ((4, 5), (0, 3), (3, 3), (7, 10)):
        values = [8.0] * k + [5.0] * (n - k)
        got = goal_share(values, 8)
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert got == (k, n, pytest.approx(ci.low), pytest.approx(ci.high))
    assert goal_text([8.0, 8.0, 8.0, 8.0, 3.0], 8) == "4 of 5 seeds cover all 8 modes (95% exact interval 28–99%)"


def test_seeds_needed_against_the_normal_approximation():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 200), rng.normal(1, 1, 200)
    effect = abs(a.mean() - b.mean()) / math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    normal = 2 * (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) ** 2 / effect**2
    assert normal <= seeds_needed(a, b) <= normal + 2  # the t distribution needs slightly more
    assert seeds_needed(np.array([1.0, 1.0]), np.array([1.0, 1.0])) is None


def test_a_tolerance_is_relative_to_means_of_one_sign():
    from wganlab.study.compare import _within_tolerance

    assert _within_tolerance(82.3, 92.3, 0.25) and _within_tolerance(-82.3, -92.3, 0.25)
    assert not _within_tolerance(82.3, 122.3, 0.25) and not _within_tolerance(1.0, 1.1, 0.0)  # none without one
    assert not _within_tolerance(-1.0, 1.1, 0.25) and not _within_tolerance(0.0, 0.1, 0.25)
    assert _within_tolerance(0.0, 0.0, 0.25)


def test_times_within_the_timing_tolerance_are_not_separated_in_any_view():
    """12 % apart at p < 0.05: a different FID, but not a different time per step (the tolerance is the
    metric's, so every view of the pair, report or claim, shows the same decision)."""
    values = {"A": [0.080, 0.085, 0.082], "B": [0.090, 0.095, 0.092]}
    times = rank_variants("mnist", "seconds_per_step", values).pair("A", "B")
    scores = rank_variants("mnist", "fid", values).pair("A", "B")
    assert times.p_holm == scores.p_holm < 0.05
    assert times.decision == NOT_SEPARABLE and times.held_by_tolerance and not times.significant
    assert scores.decision == DIFFERENT and not scores.held_by_tolerance
    assert rank_variants("mnist", "seconds_per_step", values).pair("B", "A").held_by_tolerance  # either way round
