"""Evaluation speed: feature throughput per network, and a 10k-sample FID against torch-fidelity's own.

Prints JSON with
  * images per second through each feature network (wganlab's MNIST and Fashion-MNIST classifiers on 10,000
    embedded digits; Inception-V3 through torch-fidelity on ``--inception-images`` digits, with the real weights when
    ``$WGANLAB_INCEPTION_WEIGHTS`` points at them, else random He-initialised weights of the same shape — the
    speed is the same), and
  * the seconds and peak extra resident memory of a 10k-vs-10k FID from features — wganlab's float64 eigenvalue
    path against torch-fidelity's ``fid_features_to_statistics`` + ``fid_statistics_to_metric`` — on the same
    features (128-d own features and 2048-d Inception-sized ones), with both values, in the same run, and
  * the seconds of a run's final evaluation (every metric of 2,000 noisy embedded digits against the 10,000
    reference digits: FID, KID, IS, precision/recall/density/coverage, classes), its caches (reference features,
    neighbour radii, KID's real-side sums) first filled, then timed three times.
Usage: python benchmarks/evaluation.py [--inception-images N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import numpy as np
import torch

from wganlab.data.sources import embedded_mnist
from wganlab.metrics.classifier import load_classifier, predict
from wganlab.metrics.frechet import Gaussian, frechet_distance


def rate(fn, images: torch.Tensor) -> float:
    started = time.perf_counter()
    fn(images)
    return len(images) / (time.perf_counter() - started)


def timed(fn):
    """(result, seconds) of ``fn()``."""
    started = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - started, 3)


def measured(fn):
    """(result, seconds, peak allocation traced by tracemalloc (NumPy and Python, not torch) in MiB) of ``fn()``;
    tracing slows Python's allocations, so times meant alone come from :func:`timed`."""
    tracemalloc.start()
    result, seconds = timed(fn)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, round(peak, 1)


def inception_extractor(tmp: Path):
    from wganlab.metrics.inception import InceptionFeatures, import_torch_fidelity

    import_torch_fidelity()
    weights = os.environ.get("WGANLAB_INCEPTION_WEIGHTS")
    if weights:
        return InceptionFeatures(weights), "real"
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch.object(torch, "load", return_value={}), \
            mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"):
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="x")
    for module in model.modules():
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(model.state_dict(), tmp / "random-inception.pth")
    return InceptionFeatures(tmp / "random-inception.pth"), "random (no real weights here)"


def final_evaluation(floats: torch.Tensor) -> dict:
    """Seconds of ``evaluate_images`` with every metric on 2,000 noisy real digits, in a cache of its own."""
    from wganlab.config import DataConfig
    from wganlab.metrics.evaluate import evaluate_images

    generator = torch.Generator().manual_seed(0)
    fake = floats[torch.randperm(len(floats), generator=generator)[:2000]]
    fake = (fake + 0.3 * torch.randn(fake.shape, generator=generator)).clamp(-1, 1)
    metrics = ("fid", "kid", "is", "pr", "classes")
    with tempfile.TemporaryDirectory() as cache, mock.patch.dict(os.environ, {"WGANLAB_CACHE": cache}):
        first, first_s = timed(lambda: evaluate_images(fake, DataConfig(name="mnist"), metrics))
        times = [timed(lambda: evaluate_images(fake, DataConfig(name="mnist"), metrics))[1] for _ in range(3)]
    return {"samples": 2000, "reference": first["reference_samples"], "first_seconds": first_s,
            "cached_seconds": times, "fid": round(first["fid"], 4), "kid": round(first["kid"], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inception-images", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    digits = torch.from_numpy(embedded_mnist()[0][:, None])
    floats = digits.float() / 127.5 - 1
    report: dict = {"benchmark": "evaluation", "torch": torch.__version__, "threads": args.threads,
                    "images_per_s": {}}
    for name in ("mnist", "fashion-mnist"):
        net = load_classifier(name)
        report["images_per_s"][f"{name} classifier"] = round(rate(lambda x, net=net: predict(net, x), floats), 1)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            extractor, kind = inception_extractor(Path(tmp))
            sample = digits[torch.randperm(len(digits))[: args.inception_images]]
            report["images_per_s"]["inception-v3 (torch-fidelity)"] = round(rate(extractor, sample), 2)
            report["inception_weights"] = kind
        except ImportError as err:
            report["images_per_s"]["inception-v3 (torch-fidelity)"] = f"not installed: {err}"
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    rng = np.random.default_rng(0)
    report["fid_10k"] = []
    for dim in (128, 2048):
        mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
        a = torch.from_numpy(rng.normal(size=(10_000, dim)) @ mixing).float()
        b = torch.from_numpy(rng.normal(size=(10_000, dim)) @ mixing + 0.1).float()
        ours, ours_s, ours_mb = measured(lambda a=a, b=b: frechet_distance(Gaussian.fit(a), Gaussian.fit(b)))
        theirs, theirs_s, theirs_mb = measured(lambda a=a, b=b: fid_statistics_to_metric(
            fid_features_to_statistics(a.double()), fid_features_to_statistics(b.double()),
            verbose=False)["frechet_inception_distance"])
        report["fid_10k"].append({
            "feature_dim": dim,
            "wganlab": {"fid": round(ours, 6), "seconds": ours_s, "peak_traced_mib": ours_mb},
            "torch_fidelity": {"fid": round(theirs, 6), "seconds": theirs_s, "peak_traced_mib": theirs_mb},
            "relative_difference": abs(ours - theirs) / abs(theirs),
        })  # fmt: skip
    report["final_evaluation"] = final_evaluation(floats)
    report["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
