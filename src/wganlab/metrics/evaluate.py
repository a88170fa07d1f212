"""Evaluate generated samples against a dataset: the numbers behind ``wganlab eval``.

Image metrics run on a feature network's embeddings; for 28x28 data that is wganlab's shipped classifier
(MNIST or Fashion-MNIST). Reference features are computed once per (dataset, split, feature network, count) and
cached on disk, so repeated evaluations only pay for the generated samples.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from wganlab.config import TABLE_DATASETS, VECTOR_DATASETS, DataConfig
from wganlab.data.images import to_float, to_uint8
from wganlab.data.sources import every_row, make_source
from wganlab.data.toy import MIXTURES
from wganlab.errors import ConfigError, DataError
from wganlab.fileio import atomic_output, isolated_rng
from wganlab.metrics.classifier import load_classifier, predict
from wganlab.metrics.frechet import Gaussian, frechet_distance
from wganlab.metrics.scores import (
    KID_SUBSETS,
    asked_class_accuracy,
    class_coverage,
    inception_score,
    kid,
    kid_real_sums,
    kid_subset_size,
    kid_subsets,
    neighbour_radii,
    prdc,
)
from wganlab.metrics.settings import PRDC_NEIGHBOURS
from wganlab.metrics.stacked import stacked_modes
from wganlab.metrics.toy import mode_coverage, wasserstein1_exact
from wganlab.registry import METRICS

FEATURE_NETWORKS = {"mnist": "mnist", "idx": "mnist", "stacked-mnist": "mnist", "fashion-mnist": "fashion-mnist"}


def feature_network_for(data: DataConfig, requested: str | None = None,
                        shape: tuple[int, ...] | None = None) -> str:
    """The network whose features judge ``data``: wganlab's own for 28x28 digits and clothes (and for any 28x28
    greyscale images, e.g. a folder of them: the MNIST network), else Inception."""
    default = "mnist" if shape is not None and tuple(shape) == (1, 28, 28) else "inception"
    name = requested or FEATURE_NETWORKS.get(data.name, default)
    if name not in ("mnist", "fashion-mnist", "inception"):
        raise ConfigError(f"unknown feature network '{name}'; choose mnist, fashion-mnist or inception")
    return name


def resize_rule(network: str, shape: tuple[int, ...]) -> str:
    """What ``network`` does to images of ``shape`` (C, H, W) before reading them, for the evaluation card: the rule
    applied to these images, not every rule the network has."""
    channels, height, width = shape
    if network == "inception":
        grey = ", greyscale repeated to 3 channels" if channels == 1 else ""
        return f"bilinear from {height}x{width} to 299x299 as TensorFlow's FID graph{grey}"
    if channels == 3:
        return "none (28x28; each of the 3 channels read as one digit of a stack, their features side by side)"
    return "none (28x28 greyscale, as the network reads them)"


class Featurizer:
    """(features, class probabilities) of float images in [-1, 1] with the named network."""

    def __init__(self, network: str, inception_weights: str | Path | None = None) -> None:
        self.network = network
        if network == "inception":
            from wganlab.metrics.inception import InceptionFeatures

            self.inception = InceptionFeatures(inception_weights)
        else:
            self.classifier = load_classifier(network)

    @property
    def key(self) -> str:
        """What cached reference statistics were computed with: the network and its weights' hash, so that new
        weights (a retrained classifier in a new version, another Inception file) never meet older statistics."""
        return f"{self.network}:{self.sha256}"

    @functools.cached_property
    def sha256(self) -> str:
        """SHA-256 of the network's weights file: which features a number was computed with."""
        from wganlab.metrics.classifier import WEIGHTS_PACKAGE, weights_name

        if self.network == "inception":
            data = self.inception.weights.read_bytes()
        else:
            data = resources.files(WEIGHTS_PACKAGE).joinpath(f"{weights_name(self.network)}.pt").read_bytes()
        return hashlib.sha256(data).hexdigest()

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.network == "inception":
            return self.inception.features_and_probs(to_uint8(images, "symmetric"))
        if tuple(images.shape[1:]) not in ((1, 28, 28), (3, 28, 28)):
            channels, height, width = images.shape[1:]
            raise DataError(f"the {self.network} feature network reads 28x28 images with 1 channel (or 3 stacked "
                            f"digits); these are {channels} x {height} x {width}: compare at 28 px "
                            "(data.image_size=28, data.grayscale=true) or use --features inception")
        if images.shape[1] == 3:  # stacked digits: the three channels' features side by side
            parts = [predict(self.classifier, images[:, c : c + 1]) for c in range(3)]
            return torch.cat([p[0] for p in parts], 1), parts[0][1]
        return predict(self.classifier, images)


def stats_dir() -> Path:
    return Path(os.environ.get("WGANLAB_CACHE", Path.home() / ".cache" / "wganlab")) / "stats"


def _stats_path(data: DataConfig, featurizer: Featurizer, count: int, seed: int, *what: Any) -> Path:
    key = json.dumps([data.name, data.root and str(Path(data.root).resolve()), data.split, data.image_size,
                      data.crop, data.grayscale, featurizer.key, count, seed, *what])
    return stats_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npz"


def _cached_arrays(path: Path, compute: Callable[[], dict[str, np.ndarray]],
                   valid: Callable[[dict[str, np.ndarray]], bool] = lambda arrays: True) -> dict[str, np.ndarray]:
    """The arrays saved at ``path`` if they are there and ``valid``, else ``compute()``'s, saved there atomically
    for the next evaluation: how every statistic of the real set is kept between evaluations."""
    if path.is_file():
        with np.load(path) as cached:
            arrays = {name: cached[name] for name in cached.files}
        if valid(arrays):
            return arrays
    arrays = compute()
    with atomic_output(path) as tmp:
        np.savez(tmp, **arrays)
    return arrays


def reference_features(data: DataConfig, featurizer: Featurizer, count: int, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """(features, class probabilities) of ``count`` real samples, cached on disk by dataset, split, network, count."""
    def compute() -> dict[str, np.ndarray]:
        features, probs = featurizer(real_images(data, count, seed))
        return {"features": features.numpy(), "probs": probs.numpy()}

    arrays = _cached_arrays(_stats_path(data, featurizer, count, seed), compute)
    return torch.from_numpy(arrays["features"]), torch.from_numpy(arrays["probs"])


def reference_radii(data: DataConfig, featurizer: Featurizer, count: int, real: torch.Tensor, ks: tuple[int, ...],
                    seed: int = 0) -> dict[int, torch.Tensor]:
    """The real samples' k-nearest-neighbour radii in feature space (precision, recall, density and coverage) for
    ``real``, their :func:`reference_features`, cached beside them: they depend only on the real set, and 10,000
    of them cost a 10,000 x 10,000 distance matrix."""
    arrays = _cached_arrays(_stats_path(data, featurizer, count, seed, "radii", list(ks)),
                            lambda: {f"k{k}": r.numpy() for k, r in neighbour_radii(real, ks).items()})
    return {k: torch.from_numpy(arrays[f"k{k}"]) for k in ks}


def reference_kid_sums(data: DataConfig, featurizer: Featurizer, count: int, real: torch.Tensor, n_fake: int,
                       subset_size: int, seed: int = 0) -> torch.Tensor:
    """The real side of KID (:func:`wganlab.metrics.scores.kid_real_sums`, the subsets drawn as ``kid`` draws
    them by default) for ``real``, their :func:`reference_features` (``seed`` is their draw), and generated sets
    of ``n_fake``, cached beside them: 100 subsets' real-real kernel sums, 26 GFLOP at 10,000 digits. The file
    keeps a hash of the subsets' rows, so sums drawn differently (another torch's ``randperm``) are computed
    again, never reused."""
    drawn = _sha256(kid_subsets(len(real), n_fake, KID_SUBSETS, subset_size)[0])
    arrays = _cached_arrays(
        _stats_path(data, featurizer, count, seed, "kid", n_fake, subset_size, KID_SUBSETS),
        lambda: {"sums": kid_real_sums(real, n_fake, subset_size=subset_size).numpy(), "rows_sha256": np.array(drawn)},
        valid=lambda arrays: str(arrays["rows_sha256"]) == drawn)
    return torch.from_numpy(arrays["sums"])


def _sha256(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.numpy().tobytes()).hexdigest()


def real_images(data: DataConfig, count: int, seed: int = 0) -> torch.Tensor:
    """``count`` real samples as floats in [-1, 1] (without replacement while the dataset is large enough).

    A run trained on ``data.limit`` or ``data.per_class`` images is still judged against the whole dataset: what
    matters is how well it learned the distribution, not how well it recalls the few images it saw."""
    data = replace(every_row(data), pixel_range="symmetric", hflip=False)
    source = make_source(data, torch.device("cpu"), seed=seed)
    if hasattr(source, "images"):
        count = min(count, len(source.images))
        index = torch.randperm(len(source.images), generator=torch.Generator().manual_seed(seed))[:count]
        return to_float(source.images[index], "symmetric")
    with isolated_rng(seed):
        return source.sample(count)


def requested_metrics(metrics: tuple[str, ...] | None, data: DataConfig, toy: bool,
                      network: str | None = None, shape: tuple[int, ...] | None = None) -> tuple[str, ...]:
    """The metrics to measure: every one that applies when none are named; the named ones after checking that
    each exists for the kind of samples and applies to ``data`` (:class:`ConfigError` naming the right one)."""
    allowed = METRICS.having("points" if toy else "images")
    if not metrics:
        return allowed
    unknown = [m for m in metrics if m not in allowed]
    if unknown:
        close = difflib.get_close_matches(unknown[0], allowed, n=1, cutoff=0.5)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"unknown metric {unknown[0]!r}{hint} for {'2D points' if toy else 'images'}; "
                          f"choose from {','.join(allowed)}")
    why = inapplicable(tuple(metrics), data, None if toy else network, shape)
    if why:
        raise ConfigError(why)
    return tuple(metrics)


def classifies_own_labels(data: DataConfig, network: str) -> bool:
    """Whether ``network``'s classes are ``data``'s labels (wganlab's MNIST or Fashion-MNIST classifier on its
    own dataset), so that a class asked of a conditional generator can be checked against them; not an IDX
    file's or a folder's labels, which the MNIST network also reads."""
    return network in ("mnist", "fashion-mnist") and data.name == network


def inapplicable(metrics: tuple[str, ...], data: DataConfig, network: str | None = None,
                 shape: tuple[int, ...] | None = None) -> str | None:
    """Why one of ``metrics`` cannot be measured on ``data`` (with that feature network) and what to ask for
    instead; None when all apply. Asked for by name, such a metric is an error, never left out silently."""
    toy = data.name in VECTOR_DATASETS
    if toy:
        if "modes" in metrics and data.name not in MIXTURES:
            return (f"'modes' counts the components of a Gaussian mixture (8gaussians, 25gaussians); data={data.name} "
                    "has none: ask for 'w1'")
        return None
    network = feature_network_for(data, network, shape)
    if "modes" in metrics and not (data.name == "stacked-mnist" and network == "mnist"):
        instead = "'classes' (how many of its classes appear)" if network != "inception" else "'pr' (recall)"
        return (f"'modes' counts the 1,000 digit triples of data=stacked-mnist; for data={data.name} ask for "
                f"{instead}")
    if "class_accuracy" in metrics and network != "inception" and not classifies_own_labels(data, network):
        return (f"'class_accuracy' compares the class asked for with the {network} classifier's classes, which "
                f"are not data={data.name}'s labels; ask for 'classes' (how many of its classes appear)")
    classified = next((m for m in ("classes", "class_accuracy") if m in metrics), None)
    if classified and (network == "inception" or data.name == "stacked-mnist"):
        why = "uses a classifier of single 28x28 digits or clothes" if network == "inception" else \
            "would classify single digits; stacked triples are 'modes'"
        return f"'{classified}' {why}; for data={data.name} with {network} features ask for " + \
            ("'modes'" if data.name == "stacked-mnist" else "'is' or 'pr'")
    return None


def evaluate_images(fake: torch.Tensor, data: DataConfig, metrics: tuple[str, ...], network: str | None = None,
                    reference_count: int = 10_000, inception_weights: str | Path | None = None,
                    asked_classes: torch.Tensor | None = None) -> dict[str, Any]:
    """The requested metrics for float images in [-1, 1] against ``reference_count`` real ones; a metric that does
    not apply to ``data`` is skipped (see :func:`inapplicable` for refusing it instead). ``asked_classes``: the class
    each sample of a conditional generator was asked for, without which ``class_accuracy`` is skipped too."""
    featurizer = Featurizer(feature_network_for(data, network, tuple(fake.shape[1:])), inception_weights)
    real_features, real_probs = reference_features(data, featurizer, reference_count)
    fake_features, fake_probs = featurizer(fake)
    stacked = data.name == "stacked-mnist" and featurizer.network == "mnist"
    # The evaluation card: which features (and their weights' hash), against what reference, resized how.
    out: dict[str, Any] = {"samples": len(fake), "reference_samples": len(real_features),
                           "features": featurizer.network, "features_sha256": featurizer.sha256,
                           "reference_split": data.split, "resize": resize_rule(featurizer.network,
                                                                           tuple(fake.shape[1:]))}
    if "fid" in metrics:
        out["fid"] = frechet_distance(Gaussian.fit(real_features), Gaussian.fit(fake_features))
    if "kid" in metrics:
        subset = kid_subset_size(len(real_features), len(fake_features))
        within = reference_kid_sums(data, featurizer, reference_count, real_features, len(fake_features), subset)
        out["kid"], out["kid_std"] = kid(real_features, fake_features, subset_size=subset, real_sums=within)
        out["kid_subset_size"] = subset
    if "is" in metrics:
        out["is"], out["is_std"] = inception_score(fake_probs)
    if "pr" in metrics:
        radii = reference_radii(data, featurizer, reference_count, real_features, PRDC_NEIGHBOURS)
        result = prdc(real_features, fake_features, *PRDC_NEIGHBOURS, real_radii=radii)
        out.update(precision=result.precision, recall=result.recall, density=result.density,
                   coverage=result.coverage)
    if "classes" in metrics and featurizer.network != "inception" and not stacked:
        real_counts = torch.bincount(real_probs.argmax(1), minlength=real_probs.shape[1])
        report = class_coverage(fake_probs, real_counts)
        out.update(classes_covered=report.covered, classes_total=report.total, class_kl=report.kl_to_real,
                   class_counts=report.histogram, real_class_counts=real_counts.tolist())
    if "class_accuracy" in metrics and asked_classes is not None \
            and classifies_own_labels(data, featurizer.network):
        shares = asked_class_accuracy(fake_probs, asked_classes)
        out.update(class_accuracy=sum(shares) / len(shares), class_accuracy_per_class=shares)
    if "modes" in metrics and stacked:
        modes = stacked_modes(fake, featurizer.classifier)
        # a triple with at least one sample: the PacGAN count, named as the toys' VEEGAN count is
        out.update(modes_any=modes.covered, modes_total=1000, modes_kl=modes.kl_to_uniform)
    return out


def evaluate_samples(samples: torch.Tensor, data: DataConfig, metrics: tuple[str, ...], network: str | None = None,
                     inception_weights: str | Path | None = None, asked_classes: torch.Tensor | None = None
                     ) -> dict[str, Any]:
    """N x 2 points (:func:`evaluate_points`) or float images in [-1, 1] (:func:`evaluate_images`)."""
    if samples.ndim == 2:
        return evaluate_points(samples, data, metrics)
    return evaluate_images(samples, data, metrics, network=network, inception_weights=inception_weights,
                           asked_classes=asked_classes)


def evaluate_points(points: torch.Tensor, data: DataConfig, metrics: tuple[str, ...]) -> dict[str, Any]:
    """Mode coverage (Gaussian mixtures) and the exact W1 to as many real points: fresh ones for 2D toys, a
    feature table's held-out test rows (standardised as in training) for tables."""
    if data.name not in VECTOR_DATASETS:
        raise ConfigError(f"points cannot be evaluated against data={data.name}; give a toy dataset or a table")
    if data.name in TABLE_DATASETS:
        held_out = make_source(replace(every_row(data), split="test"), torch.device("cpu")).rows
        count = min(len(points), len(held_out), 5000)
        order = torch.randperm(len(held_out), generator=torch.Generator().manual_seed(0))[:count]
        return {"samples": len(points), "w1": wasserstein1_exact(points[:count], held_out[order]),
                "reference_samples": count, "reference_split": "test (held-out rows)"}
    source = make_source(data, torch.device("cpu"))
    out: dict[str, Any] = {"samples": len(points)}
    if "modes" in metrics and source.mixture is not None:
        report = mode_coverage(points, source.mixture)
        out.update(modes_covered=report.modes_covered, modes_any=report.modes_any, modes_total=report.modes_total,
                   high_quality=report.high_quality)
    if "w1" in metrics:
        count = min(len(points), 5000)  # the assignment is O(n³): 5,000 points take a few seconds
        with isolated_rng(0):
            reference = source.sample(count)
        out["w1"] = wasserstein1_exact(points[:count], reference)
        out.update(reference_samples=count, reference_split="fresh draws of the distribution (seed 0)")
    return out
