"""How far the critic is from the true Wasserstein distance (Stanczuk et al. 2021, "Wasserstein GANs work because
they fail (to approximate the Wasserstein distance)").

At each evaluation, on batches of ``B`` samples in data space (2D points, or flattened pixels in the training
range): the exact W1 between a fixed real batch and a generated batch (optimal one-to-one assignment,
:func:`wganlab.metrics.toy.wasserstein1_exact`), next to the critic's estimate E[D(x)] − E[D(G(z))] on the same
two batches. Three baselines say what a batch W1 of that size means, each computed once per run:

- ``w1_real_real``: two disjoint real batches;
- ``w1_real_mean``: the real batch against ``B`` copies of the real data's mean (a pool of real samples);
- ``w1_real_centroids``: the real batch against ``B`` k-means centroids fitted on that pool (k = B).

Stanczuk et al. find, on images, that the last two are *smaller* than the first: by the batch W1 a blurry mean or
a set of centroids is closer to the data than the data itself, so a generator that minimised the batch W1 would
not make good samples. The critic's estimate and the batch W1 are logged together so that a run shows whether
the critic tracks it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from wganlab.metrics.toy import wasserstein1_exact
from wganlab.nets.build import eval_mode

POOL_BATCHES = 8  # the mean and the centroids are fitted on this many batches of real samples


def w1_to_point(batch: np.ndarray, point: np.ndarray) -> float:
    """W1 between a batch (equal weights) and all its mass at ``point``: every sample moves to it."""
    return float(np.linalg.norm(batch - point, axis=1).mean())


def kmeans_centroids(pool: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` k-means centroids of ``pool`` (SciPy's k-means++ start, then Lloyd's iterations)."""
    from scipy.cluster.vq import kmeans2

    centroids, _ = kmeans2(pool.astype(np.float64), k, iter=20, minit="++", rng=np.random.default_rng(seed))
    return centroids


def real_baselines(batch: np.ndarray, other: np.ndarray, pool: np.ndarray, seed: int) -> dict[str, float]:
    """The three baselines of a real ``batch``: another real batch, the pool's mean, the pool's k-means."""
    return {"w1_real_real": wasserstein1_exact(batch, other),
            "w1_real_mean": w1_to_point(batch, pool.mean(axis=0)),
            "w1_real_centroids": wasserstein1_exact(batch, kmeans_centroids(pool, len(batch), seed))}


class CriticVersusW1:
    """The fixed real batches, latents and baselines of one run; ``__call__`` measures a generator and critic.

    ``real`` holds ``(2 + POOL_BATCHES) · B`` real samples (and labels for a conditional model, which then draws
    its generated batch with the real batch's labels and is scored with them).
    """

    def __init__(self, real: torch.Tensor, labels: torch.Tensor | None, latent_dim: int, batch: int,
                 seed: int) -> None:
        flat = real.reshape(len(real), -1).double().cpu().numpy()
        self.real = real[:batch]
        self.labels = None if labels is None else labels[:batch]
        self.batch = flat[:batch]
        self.latents = torch.randn(batch, latent_dim, generator=torch.Generator().manual_seed(seed)).to(real.device)
        self.baselines = real_baselines(self.batch, flat[batch:2 * batch], flat[2 * batch:], seed)

    @torch.no_grad()
    def __call__(self, generator: torch.nn.Module, critic: torch.nn.Module) -> dict[str, Any]:
        with eval_mode(generator), eval_mode(critic):
            fake = generator(self.latents, self.labels).float()
            estimate = critic(self.real, self.labels).float().mean() - critic(fake, self.labels).float().mean()
        generated = fake.reshape(len(fake), -1).double().cpu().numpy()
        return {"w1_batch": wasserstein1_exact(self.batch, generated), "critic_estimate": float(estimate),
                **self.baselines}


def summarize_run(records: list[dict[str, Any]]) -> dict[str, float]:
    """A run's critic-versus-W1 numbers for its study row, from its logged evaluations (empty when it measured
    none): the last evaluation's values, ``real_minus_centroids`` (w1_real_real − w1_real_centroids: positive
    where, as Stanczuk et al. report for images, a batch of centroids is closer to the data than another real
    batch), ``critic_w1_error`` (|estimate − W1| / W1 at the last evaluation) and ``critic_w1_correlation``
    (Pearson's r between the estimate and the W1 over the evaluations; needs three)."""
    measured = [r for r in records if r.get("w1_batch") is not None and r.get("critic_estimate") is not None]
    if not measured:
        return {}
    last = measured[-1]
    out = {key: float(last[key]) for key in ("w1_batch", "critic_estimate", "w1_real_real", "w1_real_mean",
                                             "w1_real_centroids")}
    out["real_minus_centroids"] = out["w1_real_real"] - out["w1_real_centroids"]
    out["critic_w1_error"] = abs(out["critic_estimate"] - out["w1_batch"]) / out["w1_batch"]
    if len(measured) >= 3:
        from scipy.stats import pearsonr

        estimate = np.array([r["critic_estimate"] for r in measured], dtype=np.float64)
        exact = np.array([r["w1_batch"] for r in measured], dtype=np.float64)
        if np.ptp(estimate) > 0 and np.ptp(exact) > 0:
            out["critic_w1_correlation"] = float(pearsonr(estimate, exact).statistic)
    return out
