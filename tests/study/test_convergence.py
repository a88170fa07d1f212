"""The end-of-training trend test on hand-made curves: falling, flat, noisy, too short."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from wganlab.study.convergence import curve_points, last_third_slope, trend


def _curve(values: list[float], every: int = 100) -> list[tuple[int, float]]:
    return [(every * (i + 1), v) for i, v in enumerate(values)]


def test_the_slope_of_the_last_third_by_hand():
    # steps 100..900; the last third is steps >= 600: 600, 700, 800, 900 with values 40, 38, 36, 34
    points = _curve([90, 80, 70, 60, 50, 40, 38, 36, 34])
    slope, count = last_third_slope(points)
    assert count == 4 and slope == pytest.approx(-20.0)  # -2 per 100 steps = -20 per 1,000


def test_a_falling_fid_is_still_improving():
    seeds = [_curve([300, 200, 150, 120, 100, 90, 80 + d, 70 + d, 60 + d]) for d in (0.0, 3.0, -2.0)]
    found = trend(seeds, "fid")
    assert found.improving is True and found.slope < 0 and found.high < 0
    slopes = [last_third_slope(s)[0] for s in seeds]
    half = stats.t.ppf(0.975, 2) * np.std(slopes, ddof=1) / math.sqrt(3)
    assert (found.low, found.high) == (pytest.approx(np.mean(slopes) - half), pytest.approx(np.mean(slopes) + half))
    assert found.text().startswith("FID still improving: falling by ")


def test_a_flat_or_noisy_curve_has_levelled():
    flat = [_curve([300, 100, 60, 50, 50, 50, 50, 50, 50]) for _ in range(3)]
    assert trend(flat, "fid").improving is False
    rng = np.random.default_rng(0)
    noisy = [_curve([300, 100, 60, *(50 + rng.normal(0, 5, 6))]) for _ in range(4)]
    assert trend(noisy, "fid").improving is False


def test_higher_is_better_metrics_improve_upwards():
    rising = [_curve([1, 2, 3, 4, 5, 6, 7, 7.5 + d, 8]) for d in (0.0, 0.1, -0.1)]
    assert trend(rising, "modes_covered").improving is True
    assert trend(rising, "fid").improving is False  # the same numbers, FID rising: getting worse, not better


def test_too_few_evaluations_or_seeds_cannot_tell():
    short = [_curve([300, 200], every=250) for _ in range(3)]  # two evaluations in all
    found = trend(short, "w1")
    assert found.improving is None and found.text() == ("W1 to real points: 2 evaluations per seed, too few to "
                                                        "tell whether it levelled (3 needed)")
    sparse = [_curve([300, 200, 100 + d], every=1000) for d in (0, 5, -5)]  # the last third holds one: the last 3
    assert trend(sparse, "w1").improving is True
    one_seed = [_curve([300, 200, 150, 120, 100, 90, 80, 70, 60])]
    assert trend(one_seed, "fid").improving is None


def test_curve_points_read_a_metrics_log():
    log = [{"step": 100, "fid": 90.0}, {"step": 100, "loss_d": 1.0}, {"step": 200, "fid": float("nan")},
           {"step": 300, "fid": 70.0}]
    assert curve_points(log, "fid") == [(100, 90.0), (300, 70.0)]


def test_the_text_names_the_evaluations_fitted_when_the_last_third_holds_too_few():
    # evaluated at 1,000, 1,900 and 2,900 (the DTU GPU runs): the last third (from 1,934) holds only 2,900
    sparse = [[(1000, 900.0 + d), (1900, 240.0 + d), (2900, 174.0 + d)] for d in (0.0, 10.0, -10.0, 5.0)]
    found = trend(sparse, "fid")
    assert found.improving is True
    assert "per 1,000 steps over the last 3 evaluations (steps 1,000–2,900) where the last third held fewer than 3 " \
        "(95% interval" in found.text()
    dense = [_curve([300, 200, 150, 120, 100, 90, 80 + d, 70 + d, 60 + d]) for d in (0.0, 3.0, -2.0)]
    assert "per 1,000 steps over the last third (95% interval" in trend(dense, "fid").text()


def test_a_curve_getting_worse_is_said_to_get_worse_not_to_have_levelled():
    rising = [_curve([300, 100, 60, 50, 52 + d, 54 + d, 56 + d, 58 + d, 60 + d]) for d in (0.0, 1.0, -1.0)]
    found = trend(rising, "fid")
    assert found.improving is False and found.low > 0
    assert found.text().startswith("FID getting worse, not improving: rising by 20 per 1,000 steps")


def test_a_count_that_ends_at_its_total_on_every_seed_is_at_its_maximum_not_still_improving():
    """8 of 8 modes cannot get better, however steeply the count rose to it: the guide's §5.6 row said WGAN-GP's
    modes were 'still improving' with every seed at 8 of 8."""
    to_the_top = [_curve([2, 3, 4, 5, 6, 7, 8 - d, 8, 8]) for d in (0.0, 1.0, 2.0)]
    found = trend(to_the_top, "modes_covered", total=8)
    assert found.improving is False and found.maximum == 8
    assert found.text() == ("modes covered (≥ 1% of samples each) at its maximum, 8 of 8 on every seed at the last "
                            "evaluation: no room to improve")
    assert trend(to_the_top, "modes_covered").improving is True  # without the total, the slope alone decides
    one_short = [*to_the_top[:2], _curve([2, 3, 4, 5, 6, 7, 7, 7, 7.5])]
    assert trend(one_short, "modes_covered", total=8).maximum is None  # one seed short of 8: the slope decides
    assert trend(to_the_top, "fid", total=8).maximum is None  # a total bounds counts that rise, not falling metrics
