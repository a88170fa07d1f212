"""Cheap evaluation during training: an FID curve (seed 000's Fig. 6) or, for 2D toys, modes and W1.

Every ``eval_every`` steps the sampling generator maps a fixed set of ``eval_samples`` latent vectors (drawn
from a private generator, so training's RNG stream is untouched) and is compared with reference statistics
computed once and cached on disk. Data without a feature network (CIFAR-10, CelebA, ... until Inception is wired
in) are simply not evaluated; the run records why.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from wganlab.config import RunConfig
from wganlab.data.images import to_symmetric
from wganlab.errors import CheckpointError, ConfigError
from wganlab.fileio import isolated_rng
from wganlab.metrics.frechet import Gaussian, frechet_distance
from wganlab.metrics.toy import mode_coverage, wasserstein1_exact
from wganlab.nets import eval_mode, generate_chunks

TOY_REFERENCE = 1000


class TrainingEvaluator:
    """Holds the fixed latents and reference statistics of one run; ``__call__`` returns metric values."""

    def __init__(self, config: RunConfig, latent_dim: int, data: Any, device: torch.device) -> None:
        self.config = config
        self.data = data
        rng = torch.Generator().manual_seed(config.seed + 2)
        self.latents = torch.randn(config.eval_samples, latent_dim, generator=rng).to(device)
        self.unavailable = ""
        if data.is_toy:
            with isolated_rng(config.seed + 3, device):
                self.reference_points = data.sample(TOY_REFERENCE).cpu()
            return
        from wganlab.metrics.evaluate import Featurizer, feature_network_for, reference_features

        name = feature_network_for(config.data)
        if name == "inception" or tuple(data.shape) != (1, 28, 28):
            self.unavailable = (f"no in-training FID for data={config.data.name}: Inception on CPU is too slow for "
                                "it; use 'wganlab eval RUN_DIR --features inception'")
            return
        try:  # neither building the classifier nor drawing references touches training's RNG
            self.featurizer = Featurizer(name)
        except (ConfigError, CheckpointError) as err:
            self.unavailable = str(err)
            return
        features, _ = reference_features(config.data, self.featurizer, 10_000, seed=0)
        self.reference = Gaussian.fit(features)

    @property
    def active(self) -> bool:
        return not self.unavailable

    @torch.no_grad()
    def __call__(self, generator: torch.nn.Module) -> dict[str, float]:
        started = time.perf_counter()
        classes = getattr(generator, "num_classes", 0)  # a conditional model: classes in turn, balanced
        labels = torch.arange(len(self.latents), device=self.latents.device) % classes if classes else None
        with eval_mode(generator):
            samples = torch.cat(list(generate_chunks(generator, self.latents, labels, 500))).float()
        if self.data.is_toy:
            points = samples.cpu()
            n = min(len(points), len(self.reference_points))  # W1 by assignment compares equal-size sets
            out: dict[str, float] = {"w1": wasserstein1_exact(points[:n], self.reference_points[:n])}
            if self.data.mixture is not None:
                report = mode_coverage(points, self.data.mixture)
                out.update(modes_covered=report.modes_covered, high_quality=report.high_quality)
        else:
            samples = to_symmetric(samples, self.config.data.pixel_range)
            features, _ = self.featurizer(samples.cpu())
            out = {"fid": frechet_distance(self.reference, Gaussian.fit(features))}
        out["eval_seconds"] = round(time.perf_counter() - started, 3)
        return out
