"""The mean of independent repeats (seeds) and its Student-t confidence interval.

Its own module, with no dependency on studies, so that anything that averages over seeds (a study's tables, the
augmentation score of ``wganlab augment``, the convergence test) can use it without importing the study runner.
"""

from __future__ import annotations

import math
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

    def text(self, metric: str = "", difference: bool = False) -> str:
        """``mean ± half-width`` with the digits the interval supports (:mod:`wganlab.study.numbers`); the mean
        alone for one seed. ``difference``: an interval of differences of the metric, never clipped to its range."""
        return interval_text(self.mean, self.half_width, self.n, metric, difference)


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
