"""How the critic's Wasserstein estimate moves over a run, read from the run's log: the practical guide's §5.3.3
(Garrido et al.) says the estimate, "our loss minus the gradient penalty", converges "towards zero as training
progresses" and that "if the loss goes down, the image quality improves".

Every run logs ``wasserstein_estimate``, E[D(x)] − E[D(G(z))] on its training batch (the critic's loss without its
penalty, up to sign), at each log step, and its FID at each in-training evaluation. Two numbers per run:

- :func:`end_share`: the estimate over the last tenth of training, in absolute value, as a share of its largest
  tenth (each tenth the mean of the values logged in it): 1 when it ends at its peak, near 0 when it has converged
  towards 0 (from either side).
- :func:`fid_change_correlation`: Spearman's rank correlation, between consecutive in-training evaluations, of the
  change in the FID and the change in the estimate (averaged over the log records since the previous evaluation:
  one batch's estimate is noisy). Positive when the FID falls in the intervals where the estimate falls more;
  correlating the levels instead would mostly show that both fall over training.

Both are None where the log cannot say (too few records, an estimate that never rises above 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import pairwise
from typing import Any

import numpy as np

from wganlab.study.convergence import curve_points

WINDOWS = 10  # tenths of training
MIN_CHANGES = 3  # for a rank correlation


def end_share(records: Iterable[dict[str, Any]], windows: int = WINDOWS) -> float | None:
    """The mean logged estimate over the last tenth of the run's steps, in absolute value, divided by the largest
    tenth's mean; None when some tenth holds no record or no tenth's mean is above 0."""
    points = _logged(records, "wasserstein_estimate")
    if not points:
        return None
    width = max(points) / windows
    means = []
    for window in range(windows):
        inside = [value for step, value in points.items() if window * width < step <= (window + 1) * width]
        if not inside:
            return None
        means.append(float(np.mean(inside)))
    peak = max(means)
    return abs(means[-1]) / peak if peak > 0 else None


def fid_change_correlation(records: Iterable[dict[str, Any]]) -> float | None:
    """Spearman's correlation, over consecutive in-training evaluations, of the FID's change with the change of the
    estimate averaged over the log records after the previous evaluation, up to and including this one; None under
    :data:`MIN_CHANGES` changes or where either side's changes never vary."""
    from scipy.stats import spearmanr

    records = list(records)
    estimates, fids = _logged(records, "wasserstein_estimate"), _logged(records, "fid")
    levels, previous = [], 0
    for step in sorted(fids):
        inside = [value for logged, value in estimates.items() if previous < logged <= step]
        previous = step
        if inside:
            levels.append((float(np.mean(inside)), fids[step]))
    changes = [(e1 - e0, f1 - f0) for (e0, f0), (e1, f1) in pairwise(levels)]
    if len(changes) < MIN_CHANGES or len({e for e, _ in changes}) < 2 or len({f for _, f in changes}) < 2:
        return None
    rho = float(spearmanr([e for e, _ in changes], [f for _, f in changes]).statistic)
    return rho if math.isfinite(rho) else None


def _logged(records: Iterable[dict[str, Any]], key: str) -> dict[int, float]:
    """``key``'s finite values by step, as the convergence test reads a curve."""
    return dict(curve_points(list(records), key))
