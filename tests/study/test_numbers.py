"""Numbers for people: the digits an interval supports, no scientific notation, counts as counts."""

from __future__ import annotations

import math

import pytest

from wganlab.study.numbers import header, interval_text, number, p_text, plus_minus, uncertainty_decimals, value_text


@pytest.mark.parametrize(("mean", "half", "n", "metric", "expected"), [
    (71.83, 9.127, 3, "fid", "72 ± 9"),  # one significant digit of the half-width, the mean to the same place
    (12.5, 0.96, 3, "fid", "12.5 ± 1.0"),  # 0.96 rounds up to 1.0: two digits, since it starts with a 1
    (0.55, 0.14, 3, "precision", "0.55 ± 0.14"),  # a leading 1 keeps two digits
    (150.0, 40.0, 3, "fid", "150 ± 40"),
    (15_710.0, 4_300.0, 3, "fid", "16,000 ± 4,000"),  # thousands separators, rounded to the thousands
    (1_880.0, 2_900.0, 2, "fid", "1,900 (0 to 4,800)"),  # never 1.88e+03 ± 2.9e+03; clipped: FID is never < 0
    (1_880.0, 900.0, 3, "fid", "1,900 ± 900"),
    (7.667, 0.6, 3, "modes_covered", "7.7 ± 0.6"),
    (3.0, 38.0, 2, "modes_covered", "3 (0 to 41)"),  # counts are never rounded to tens, nor shown below 0
    (0.5, 6.4, 2, "modes_covered", "0.5 (0 to 6.9)"),  # seeds with 0 and 1 of 8 modes: not "0 ± 6"
    (0.97, 0.05, 3, "precision", "0.97 (0.92 to 1)"),  # a share never passes 1
    (8.0, 0.0, 3, "modes_covered", "all 3 seeds: 8"),  # every seed agreed: a whole count, and said so
    (80.00000000000001, 3e-14, 3, "", "all 3 seeds: 80"),  # agreed up to rounding error (0.8 x 100, 3 times)
    (10.0, math.nan, 1, "classes_covered", "10"),
    (0.0123, 0.004, 3, "kid", "0.012 ± 0.004"),
    (421.3, 160.0, 3, "kid", "420 ± 160"),
    (1e-5, math.nan, 1, "fid", "0.00001"),  # one seed: three significant digits, fixed notation
    (3.0, math.nan, 1, "", "3"),
    (math.nan, 1.0, 3, "fid", "–"),
    (5.0, 1.0, 0, "fid", "–"),
])
def test_interval_text_on_awkward_values(mean, half, n, metric, expected):
    assert interval_text(mean, half, n, metric) == expected


def test_no_scientific_notation_anywhere():
    for value in (1e-5, 3.2e-4, 15_710.0, 1.571e4, 4.3e4, 2.5e7, -0.0):
        for text in (number(value), value_text(value, "fid"), plus_minus(value, value / 3, "fid")):
            assert "e" not in text.lower(), text
    assert number(-0.0001, 2) == "0.00"  # no negative zero


def test_uncertainty_decimals():
    assert uncertainty_decimals(9.127) == 0
    assert uncertainty_decimals(0.14) == 2
    assert uncertainty_decimals(0.96) == 1
    assert uncertainty_decimals(4_300) == -3
    assert uncertainty_decimals(0.0) is None and uncertainty_decimals(math.nan) is None


def test_headers_say_the_direction_and_the_scale():
    assert header("fid", "final") == "FID, final (lower is better)"
    assert header("modes_covered", "best") == "modes covered (≥ 1% of samples each), best (higher is better)"
    assert header("modes_any") == "modes with ≥ 1 sample (VEEGAN / PacGAN count) (higher is better)"
    assert header("kid") == "KID (lower is better)"
    assert header("seconds_per_step", "run") == "ms per generator step (lower is better)"


def test_p_values():
    assert p_text(0.0021) == "p = 0.0021"
    assert p_text(0.00004) == "p < 0.001"
    assert p_text(0.3123) == "p = 0.31"
    assert p_text(0.049) == "p = 0.049"
    assert p_text(0.0496) == "p = 0.0496" and p_text(0.0503) == "p = 0.0503"  # not 0.050 on either side
    assert p_text(1.0) == "p = 1"
    assert p_text(math.nan) == "p = –"


def test_values_in_sentences():
    assert value_text(7.667, "modes_covered") == "7.7"
    assert value_text(8.0, "modes_covered") == "8"
    assert value_text(15_710.3, "fid") == "15,710"
    assert value_text(42.123, "fid") == "42.1"
    assert value_text(0.00123, "kid") == "0.00123"


@pytest.mark.parametrize(("mean", "half", "name", "goal", "expected"), [
    # 0.0509 to 0.0936 against ≤ 0.0905: "0.07 ± 0.02" adds up to 0.09, inside the goal; the end is outside
    (0.07224, 0.02139, "w1", 0.0905, "0.072 (0.051 to 0.094)"),
    # a mean of 0.888 printed as 0.9 against ≤ 0.9; the upper end is the range's own 1, printed as such
    (0.8877, 0.3146, "critic_w1_correlation", 0.9, "0.89 (0.57 to 1)"),
    # the usual text already shows every side: unchanged
    (0.13, 0.0196, "w1", 0.0905, "0.130 ± 0.020"),
    (58.3, 8.7, "fid", 60.0, "58 ± 9"),
    (0.0812, 0.0018, "w1", 0.129, "0.0812 ± 0.0018"),
    # a goal to be at or above: "0.97 ± 0.02" puts the lower end on the goal, 0.95; it is 0.9508, above it
    (0.9712, 0.0204, "accuracy_real", 0.95, "0.971 (0.951 to 0.992)"),
    # "m ± h" is read by adding up: 249.96 + 0.09 = 250.05 is past 250, as the true end is; unchanged
    (249.96, 0.09, "kid", 250.0, "249.96 ± 0.09"),
    # "0.30 ± 0.10" adds up to a lower end of 0.20, on the goal ≤ 0.2 (in floats 0.3 - 0.1 = 0.19999...); it is 0.1995
    (0.2996, 0.1001, "w1", 0.2, "0.300 (0.199 to 0.400)"),
    # rounded to tens (836 ± 62 is "840 ± 60", whose upper end 900 looks on the goal ≤ 900; it is 898)
    (836.0, 62.0, "fid", 900.0, "836 (774 to 898)"),
    # a scaled metric (seconds shown as ms): 0.0412 ± 0.0089 s is "41 ± 9" ms, 50 at the top against ≤ 50 ms
    (0.0412, 0.0089, "seconds_per_step", 0.050, "41.2 (32.3 to 50.1)"),
])
def test_an_interval_against_a_goal_shows_each_end_on_its_side_of_the_printed_goal(mean, half, name, goal, expected):
    assert interval_text(mean, half, 3, name, goal=goal) == expected


def test_a_goal_changes_no_count_no_single_seed_and_no_difference():
    assert interval_text(7.4, 0.6, 5, "modes_covered", goal=7.5) == interval_text(7.4, 0.6, 5, "modes_covered")
    assert interval_text(0.0905, math.nan, 1, "w1", goal=0.0905) == "0.0905"
    assert interval_text(0.07224, 0.02139, 3, "w1", difference=True, goal=0.0905) == "0.07 ± 0.02"
