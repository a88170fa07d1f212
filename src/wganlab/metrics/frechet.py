"""The Fréchet distance between two Gaussians fitted to feature sets (Heusel et al. 2017, eq. 6).

    d² = ‖μ₁ − μ₂‖² + tr(Σ₁) + tr(Σ₂) − 2 tr((Σ₁^½ Σ₂ Σ₁^½)^½)

computed in float64 with symmetric eigendecompositions: Σ₁^½ Σ₂ Σ₁^½ is symmetric positive semi-definite, so
its square root's trace is the sum of the square roots of its (clipped) eigenvalues. Unlike ``scipy.linalg.sqrtm``
on the non-symmetric product Σ₁Σ₂ (what pytorch-fid does) this never returns NaN or a complex number, also for
singular covariances (fewer samples than dimensions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Gaussian:
    """Mean and covariance of a feature set, in float64; ``count`` is the number of samples behind them."""

    mean: np.ndarray
    cov: np.ndarray
    count: int

    @classmethod
    def fit(cls, features: np.ndarray | torch.Tensor) -> Gaussian:
        x = features.detach().cpu().double().numpy() if isinstance(features, torch.Tensor) else np.asarray(
            features, dtype=np.float64)
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(f"need at least 2 feature vectors as an N x D array, got shape {x.shape}")
        return cls(x.mean(axis=0), np.cov(x, rowvar=False), len(x))


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(a: Gaussian, b: Gaussian) -> float:
    """d² between the Gaussians ``a`` and ``b`` (what is reported as FID when the features are Inception's)."""
    if a.mean.shape != b.mean.shape:
        raise ValueError(f"feature sizes differ: {a.mean.shape[0]} vs {b.mean.shape[0]}")
    root_a = _sqrt_psd(a.cov)
    middle = root_a @ b.cov @ root_a
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = a.mean - b.mean
    value = float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * trace_sqrt)
    return max(value, 0.0)
