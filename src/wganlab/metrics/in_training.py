"""Cheap evaluation during training: an FID curve (the DTU study's Fig. 6), with the asked-class accuracy of a
conditional generator, or, for 2D toys, modes and W1.

Every ``eval_every`` steps the sampling generator maps a fixed set of ``eval_samples`` latent vectors (drawn
from a private generator, so training's RNG stream is untouched) and is compared with reference statistics
computed once and cached on disk. Data without a feature network (CIFAR-10, CelebA, ... until Inception is wired
in) are simply not evaluated; the run records why. With ``eval.wasserstein=true`` each evaluation also measures the
critic against the exact batch W1 (:mod:`wganlab.metrics.wasserstein`), on any data; with ``eval.prdc=true``,
precision, recall, density and coverage against the FID's real digits, whose neighbour radii are cached with them.
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
from wganlab.metrics.scores import asked_class_accuracy, prdc
from wganlab.metrics.settings import PRDC_NEIGHBOURS
from wganlab.metrics.toy import mode_coverage, wasserstein1_exact
from wganlab.metrics.wasserstein import POOL_BATCHES, CriticVersusW1
from wganlab.nets.build import eval_mode, generate_chunks
from wganlab.training.snapshots import fixed_real_batch

TOY_REFERENCE = 1000


class TrainingEvaluator:
    """Holds the fixed latents and reference statistics of one run; ``__call__`` returns metric values."""

    def __init__(self, config: RunConfig, latent_dim: int, data: Any, device: torch.device) -> None:
        self.config = config
        self.data = data
        rng = torch.Generator().manual_seed(config.seed + 2)
        self.latents = torch.randn(config.eval_samples, latent_dim, generator=rng).to(device)
        self.unavailable = ""
        self.critic_w1 = _critic_versus_w1(config, latent_dim, data, device) if config.eval.wasserstein else None
        if data.is_vectors:
            with isolated_rng(config.seed + 3, device):
                self.reference_points = data.sample(TOY_REFERENCE).cpu()
            return
        from wganlab.metrics.evaluate import (
            Featurizer,
            classifies_own_labels,
            feature_network_for,
            reference_features,
            reference_radii,
        )

        name = feature_network_for(config.data)
        if name == "inception" or tuple(data.shape) != (1, 28, 28):
            self.unavailable = (f"no in-training FID for data={config.data.name}: Inception on CPU is too slow for "
                                "it; use 'wganlab eval RUN_DIR --features inception'")
        else:
            try:  # neither building the classifier nor drawing references touches training's RNG
                self.featurizer = Featurizer(name)
            except (ConfigError, CheckpointError) as err:
                self.unavailable = str(err)
        if self.unavailable and config.eval.prdc:  # asked for by name: refused, never left out silently
            raise ConfigError(f"eval.prdc=true measures beside the in-training FID, which this run cannot have "
                              f"({self.unavailable}): drop eval.prdc and use 'wganlab eval RUN_DIR --metrics pr'")
        if self.unavailable:
            return
        features, _ = reference_features(config.data, self.featurizer, 10_000, seed=0)
        self.reference = Gaussian.fit(features)
        self.real_features = features if config.eval.prdc else None
        if self.real_features is not None:
            self.real_radii = reference_radii(config.data, self.featurizer, 10_000, features, PRDC_NEIGHBOURS)
        self.checks_asked_class = classifies_own_labels(config.data, name)  # class_accuracy of a conditional model

    @property
    def active(self) -> bool:
        return not self.unavailable or self.critic_w1 is not None

    @torch.no_grad()
    def __call__(self, generator: torch.nn.Module, critic: torch.nn.Module | None = None) -> dict[str, float]:
        started = time.perf_counter()
        out: dict[str, float] = {}
        if self.critic_w1 is not None and critic is not None:
            out.update(self.critic_w1(generator, critic))
        if self.unavailable:
            out["eval_seconds"] = round(time.perf_counter() - started, 3)
            return out
        classes = getattr(generator, "num_classes", 0)  # a conditional model: classes in turn, balanced
        labels = torch.arange(len(self.latents), device=self.latents.device) % classes if classes else None
        with eval_mode(generator):
            samples = torch.cat(list(generate_chunks(generator, self.latents, labels, 500))).float()
        if self.data.is_vectors:
            points = samples.cpu()
            n = min(len(points), len(self.reference_points))  # W1 by assignment compares equal-size sets
            out["w1"] = wasserstein1_exact(points[:n], self.reference_points[:n])
            if self.data.mixture is not None:
                report = mode_coverage(points, self.data.mixture)
                out.update(modes_covered=report.modes_covered, modes_any=report.modes_any,
                           high_quality=report.high_quality)
        else:
            samples = to_symmetric(samples, self.config.data.pixel_range)
            features, probs = self.featurizer(samples.cpu())
            out["fid"] = frechet_distance(self.reference, Gaussian.fit(features))
            if self.real_features is not None:
                found = prdc(self.real_features, features, *PRDC_NEIGHBOURS, real_radii=self.real_radii)
                out.update(precision=found.precision, recall=found.recall, density=found.density,
                           coverage=found.coverage)
            if labels is not None and self.checks_asked_class:  # does it draw the class asked for
                shares = asked_class_accuracy(probs, labels.cpu())
                out["class_accuracy"] = sum(shares) / len(shares)
        out["eval_seconds"] = round(time.perf_counter() - started, 3)
        return out


def _critic_versus_w1(config: RunConfig, latent_dim: int, data: Any, device: torch.device) -> CriticVersusW1:
    """``eval.wasserstein``: fixed real batches for the exact W1 and its baselines, drawn without touching
    training's RNG (:mod:`wganlab.metrics.wasserstein`)."""
    batch = config.eval.batch
    wanted = (2 + POOL_BATCHES) * batch
    real, labels = fixed_real_batch(data, wanted, config, device)
    if len(real) < 3 * batch:
        raise ConfigError(f"eval.batch={batch} needs at least {3 * batch} real samples (two batches and a pool for "
                          f"the k-means baseline) but the data have {len(real)}: lower eval.batch")
    conditional = config.conditioning.mode != "none"
    return CriticVersusW1(real, labels if conditional else None, latent_dim, batch, config.seed + 6)
