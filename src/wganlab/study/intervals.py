"""The mean of independent repeats (seeds), its Student-t confidence interval, and the paired test of a mean
difference against 0.

Its own module, with no dependency on studies, so that anything that averages over seeds (a study's tables, the
augmentation score of ``wganlab augment``, the convergence test) can use it without importing the study runner.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from wganlab.study.numbers import interval_text


@dataclass(frozen=True)
class Interval:
    """Mean and two-sided Student-t confidence interval of independent repeats."""

    mean: float
    std: float
    n: int
    half_width: float  # NaN for a single repeat: one seed says nothing about spread

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def text(self, metric: str = "", difference: bool = False, goal: float | None = None) -> str:
        """``mean ± half-width`` with the digits the interval supports (:mod:`wganlab.study.numbers`); the mean
        alone for one seed. ``difference``: an interval of differences of the metric, never clipped to its range.
        ``goal``: a threshold the interval is judged by, whose side each end must show."""
        return interval_text(self.mean, self.half_width, self.n, metric, difference, goal)


def t_interval(values: list[float] | np.ndarray, confidence: float = 0.95) -> Interval:
    """mean ± t_{(1+c)/2, n-1} · s / √n with the sample standard deviation s (ddof = 1)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan)
    if n == 1:
        return Interval(float(x[0]), math.nan, 1, math.nan)
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n))
    return Interval(float(x.mean()), std, n, half)


def paired_p(differences: np.ndarray) -> float:
    """Two-sided p-value that paired differences (a run's metric minus its own baseline, one per seed) centre on
    0: the one-sample t-test, or, where every seed moved by the same amount (t is 0/0 or unbounded there), the
    exact sign-flip test, by hand: all n differences of one sign is 2 of the 2^n sign patterns. NaN below 2 seeds."""
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) < 2:
        return math.nan
    largest = float(np.abs(d).max())
    if float(np.ptp(d)) <= 1e-9 * largest or largest == 0:  # the same difference to rounding
        return 1.0 if largest == 0 else min(1.0, 2.0 / 2 ** len(d))
    with warnings.catch_warnings():  # nearly equal differences: SciPy warns about precision, p is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_1samp(d, 0.0).pvalue)
