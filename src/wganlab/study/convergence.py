"""Is a metric still improving at the end of training? The test behind "not reproduced at N % of the budget".

A claim about trained models cannot be refuted by runs that were still getting better when they stopped. For
each seed, the evaluations logged in the last third of its training (steps at or after two thirds of its last
evaluated step, or its last 3 evaluations where the last third holds fewer) are fitted by a least-squares line;
the slopes of the seeds (in metric units per 1,000 steps)
give a mean and a 95% Student-t interval. The metric is *still improving* when that whole interval lies on the
metric's good side (falling for FID and W1, rising for modes covered); *getting worse* when it lies wholly on the
other side; *levelled* otherwise (flat, or noisy enough that no trend shows). A count that ends at its total on
every seed (8 of 8 modes) is at its maximum, not improving, however steeply it rose there. With fewer than
:data:`MIN_EVALUATIONS` evaluations in all (or a single seed) the test cannot tell, and a claim is treated as if
the runs were still improving: a refutation needs evidence that they had stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from wganlab.study.intervals import t_interval
from wganlab.study.numbers import metric_info, number

LAST_SHARE = Fraction(1, 3)  # exact: step 600 of 900 is in the last third
MIN_EVALUATIONS = 3


@dataclass(frozen=True)
class Trend:
    """The mean slope of a metric at the end of training (:func:`fitted_tail`), per 1,000 steps, with its 95%
    interval."""

    metric: str
    slope: float
    low: float
    high: float
    seeds: int
    evaluations: int  # fewest evaluations any seed had in its last third
    improving: bool | None  # None: too few evaluations or seeds to tell
    window: str = "over the last third"  # which evaluations the slopes were fitted to, as the text says it
    # Improving towards a threshold's side rather than the metric's own direction ("at most 0.2" of a
    # higher-is-better share: falling is towards the goal); None: the metric's direction.
    goal_lower: bool | None = None
    maximum: float | None = None  # a count that ended at its total on every seed (8 of 8 modes): cannot improve

    @property
    def lower(self) -> bool:
        return falling_is_better(self.metric, self.goal_lower)

    def text(self) -> str:
        """``FID falling by 12 per 1,000 steps over the last third (95% interval 8 to 16, 5 seeds)``."""
        label = metric_info(self.metric).label
        if self.maximum is not None:
            top = number(self.maximum)
            return f"{label} at its maximum, {top} of {top} on every seed at the last evaluation: no room to improve"
        if self.improving is None and self.seeds < 2:
            return f"{label}: one seed, no interval to tell whether it levelled"
        if self.improving is None:
            return (f"{label}: {self.evaluations} evaluation{'s' if self.evaluations != 1 else ''} per seed, too "
                    f"few to tell whether it levelled ({MIN_EVALUATIONS} needed)")
        way = "falling" if self.slope < 0 else "rising"
        worsening = self.low > 0 if self.lower else self.high < 0  # the whole interval on the worse side
        better, worse = ("still improving", "getting worse, not improving") if self.goal_lower is None else \
            ("still moving towards the goal", "moving away from the goal")
        state = better if self.improving else worse if worsening else "levelled (no trend beyond noise)"
        return (f"{label} {state}: {way} by {number(abs(self.slope))} per 1,000 steps {self.window} "
                f"(95% interval {number(self.low)} to {number(self.high)}, {self.seeds} seeds)")


def curve_points(metrics: list[dict[str, Any]], key: str) -> list[tuple[int, float]]:
    """A run's logged (step, value) pairs of ``key``, in step order, finite values only."""
    points = {int(r["step"]): float(r[key]) for r in metrics
              if isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) and "step" in r}
    return sorted(points.items())


def fitted_tail(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The points in the last third (the last :data:`MIN_EVALUATIONS` where the last third holds fewer)."""
    if not points:
        return []
    end = points[-1][0]
    tail = [(s, v) for s, v in points if s >= (1 - LAST_SHARE) * end]
    return tail if len(tail) >= MIN_EVALUATIONS else points[-MIN_EVALUATIONS:]  # sparse: however far back


def last_third_slope(points: list[tuple[int, float]]) -> tuple[float, int]:
    """Least-squares slope per 1,000 steps of :func:`fitted_tail`'s points, and how many there were."""
    tail = fitted_tail(points)
    if len(tail) < 2:
        return math.nan, len(tail)
    steps, values = np.array([s for s, _ in tail], dtype=np.float64), np.array([v for _, v in tail])
    slope = float(np.polyfit(steps / 1000.0, values, 1)[0])
    # a constant curve fits a slope of about 1e-15, not 0: below rounding error of the values it is none
    return (0.0 if abs(slope) < 1e-9 * max(1.0, float(np.abs(values).max())) else slope), len(tail)


def falling_is_better(metric: str, goal_lower: bool | None = None) -> bool:
    """Whether a falling curve improves: towards a threshold's goal where one is given, else the metric's way."""
    return metric_info(metric).lower_is_better if goal_lower is None else goal_lower


def trend(curves: list[list[tuple[int, float]]], metric: str, goal_lower: bool | None = None,
          total: float | None = None) -> Trend:
    """The test over seeds: each curve is one seed's logged (step, value) pairs of ``metric``; ``goal_lower``:
    improving means falling (True) or rising (False) towards a threshold, whatever the metric's direction;
    ``total``: what a count is out of (8 modes), which a curve that ends there on every seed cannot improve on,
    however steeply it rose to it."""
    slopes, counts = [], []
    for points in curves:
        slope, count = last_third_slope(points)
        counts.append(count)
        if math.isfinite(slope) and count >= MIN_EVALUATIONS:
            slopes.append(slope)
    fewest = min(counts) if counts else 0
    interval = t_interval(slopes)
    falling = falling_is_better(metric, goal_lower)
    if total is not None and not falling and curves and all(points and points[-1][1] >= total for points in curves):
        return Trend(metric, interval.mean, interval.low, interval.high, len(curves), fewest, False,
                     _window(curves), goal_lower, maximum=total)
    if fewest < MIN_EVALUATIONS or interval.n < 2:
        return Trend(metric, interval.mean, math.nan, math.nan, len(curves), fewest, None, goal_lower=goal_lower)
    improving = interval.high < 0 if falling else interval.low > 0
    return Trend(metric, interval.mean, interval.low, interval.high, interval.n, fewest, improving,
                 _window(curves), goal_lower)


def _window(curves: list[list[tuple[int, float]]]) -> str:
    """"over the last third", or, where sparse evaluations made a seed's fit reach further back, which
    evaluations it was: "over the last 3 evaluations (steps 1,000–2,900)"."""
    tails = [fitted_tail(points) for points in curves if points]
    if all(tail[0][0] >= (1 - LAST_SHARE) * tail[-1][0] for tail in tails):
        return "over the last third"
    first, last = min(tail[0][0] for tail in tails), max(tail[-1][0] for tail in tails)
    return (f"over the last {MIN_EVALUATIONS} evaluations (steps {first:,}–{last:,}) where the last third held "
            f"fewer than {MIN_EVALUATIONS}")
