"""Mode coverage and sample quality on the Gaussian-mixture toys (the VEEGAN/PacGAN protocol)."""

from __future__ import annotations

from dataclasses import dataclass

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
    distances = torch.cdist(points, mixture.centres.float())
    nearest_distance, nearest = distances.min(dim=1)
    close = nearest_distance <= radius_stds * mixture.std
    counts = torch.bincount(nearest[close], minlength=len(mixture.centres))
    covered = int((counts >= min_share * len(points)).sum())
    return ModeReport(covered, len(mixture.centres), float(close.float().mean()), counts.tolist())
