"""Mode coverage and sample quality on the Gaussian-mixture toys (the VEEGAN/PacGAN protocol)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from wganlab.data.toy import GaussianMixture


@dataclass(frozen=True)
class ModeReport:
    modes_covered: int
    modes_total: int
    high_quality: float  # share of samples within ``radius_stds`` standard deviations of some centre
    per_mode: list[int]


def mode_coverage(points: torch.Tensor, mixture: GaussianMixture, radius_stds: float = 3.0,
                  min_share: float = 0.01) -> ModeReport:
    """A sample is high quality when it lies within ``radius_stds`` σ of its nearest centre; a mode is covered
    when at least ``min_share`` of all samples are high-quality samples of that mode."""
    points = points.detach().float().cpu()
    distances = torch.cdist(points, mixture.centres.float().cpu())  # a training source keeps them on its device
    nearest_distance, nearest = distances.min(dim=1)
    close = nearest_distance <= radius_stds * mixture.std
    counts = torch.bincount(nearest[close], minlength=len(mixture.centres))
    covered = int((counts >= min_share * len(points)).sum())
    return ModeReport(covered, len(mixture.centres), float(close.float().mean()), counts.tolist())


def wasserstein1_exact(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """W1 between two equal-size point sets: the mean Euclidean cost of the optimal one-to-one assignment
    (Hungarian algorithm, exact for empirical measures with equal weights)."""
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.distance import cdist

    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"W1 by assignment needs equal-size sets, got {x.shape} and {y.shape}")
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
