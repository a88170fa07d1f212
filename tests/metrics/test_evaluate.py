"""``wganlab eval`` end to end: npz inputs, run directories, JSON output, cached reference statistics."""

import json

import numpy as np
import pytest
import torch

from tests.conftest import cli
from wganlab.config import DataConfig
from wganlab.data.sources import embedded_mnist
from wganlab.data.toy import eight_gaussians
from wganlab.metrics import evaluate


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WGANLAB_CACHE", str(tmp_path / "cache"))


def test_real_digits_score_better_than_noise_and_stats_are_cached(tmp_path):
    images, _ = embedded_mnist()  # stored sorted by class: take a random subset
    pick = np.random.default_rng(0).permutation(len(images))[:1000]
    real = torch.from_numpy(images[pick, None]).float() / 127.5 - 1
    noise = torch.rand(1000, 1, 28, 28) * 2 - 1
    data = DataConfig(name="mnist")
    good = evaluate.evaluate_images(real, data, ("fid", "classes"), reference_count=3000)
    bad = evaluate.evaluate_images(noise, data, ("fid", "classes"), reference_count=3000)
    assert good["fid"] < 0.05 * bad["fid"]
    assert len(list((tmp_path / "cache" / "stats").glob("*.npz"))) == 1
    # the evaluation card: which weights (by hash), how many of what, resized how
    import hashlib
    from importlib import resources

    weights = resources.files("wganlab.metrics.weights").joinpath("mnist.pt").read_bytes()
    assert good["features_sha256"] == hashlib.sha256(weights).hexdigest()
    assert (good["features"], good["samples"], good["reference_samples"], good["reference_split"]) == \
        ("mnist", 1000, 3000, "train")
    assert good["resize"] == "none (28x28 greyscale, as the network reads them)"


def test_the_real_sets_radii_and_kid_sums_are_cached_and_new_weights_never_meet_old_statistics(tmp_path):
    from wganlab.metrics.scores import kid, prdc

    images, _ = embedded_mnist()
    real = torch.from_numpy(images[np.random.default_rng(1).permutation(len(images))[:300], None]).float() / 127.5 - 1
    data, cache = DataConfig(name="mnist"), tmp_path / "cache" / "stats"
    first = evaluate.evaluate_images(real, data, ("pr", "kid"), reference_count=2000)
    assert len(list(cache.glob("*.npz"))) == 3  # the reference features, their neighbour radii and KID sums
    featurizer = evaluate.Featurizer("mnist")
    features = evaluate.reference_features(data, featurizer, 2000)[0]
    by_hand = prdc(features, featurizer(real)[0])
    kid_by_hand = kid(features, featurizer(real)[0], subset_size=first["kid_subset_size"])  # nothing cached
    again = evaluate.evaluate_images(real, data, ("pr", "kid"), reference_count=2000)
    assert len(list(cache.glob("*.npz"))) == 3
    for result in (first, again):
        assert (result["precision"], result["recall"], result["density"], result["coverage"]) == \
            (by_hand.precision, by_hand.recall, by_hand.density, by_hand.coverage)
        assert (result["kid"], result["kid_std"]) == pytest.approx(kid_by_hand, rel=1e-12)
    # KID sums whose subsets were drawn otherwise (another torch's randperm) are computed again, never reused
    kid_file = next(path for path in cache.glob("*.npz") if "rows_sha256" in np.load(path))
    with np.load(kid_file) as kept:
        np.savez(kid_file, sums=kept["sums"] + 1.0, rows_sha256="0" * 64)
    assert evaluate.evaluate_images(real, data, ("kid",), reference_count=2000)["kid"] == pytest.approx(
        kid_by_hand[0], rel=1e-12)
    featurizer.sha256 = "0" * 64  # as a retrained classifier shipped in a new version would have
    evaluate.reference_features(data, featurizer, 2000)
    assert len(list(cache.glob("*.npz"))) == 4  # computed afresh, not read from the older weights' file


def test_cli_eval_points_npz(tmp_path):
    torch.manual_seed(0)
    points = eight_gaussians().sample(2000, torch.device("cpu")).numpy()
    np.savez(tmp_path / "p.npz", points=points)
    result = cli("eval", str(tmp_path / "p.npz"), "--data", "8gaussians", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["modes_covered"] == 8 and report["high_quality"] > 0.98 and report["w1"] < 0.05


def test_cli_eval_images_npz_table(tmp_path):
    images, _ = embedded_mnist()
    np.savez(tmp_path / "i.npz", images=images[np.random.default_rng(1).permutation(len(images))[:500], None])
    result = cli("eval", str(tmp_path / "i.npz"), "--data", "mnist", "--metrics", "fid,is", "--n", "500")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(maxsplit=1) for line in result.stdout.strip().splitlines())
    assert float(lines["is"]) > 5 and float(lines["fid"]) < 50


def test_cli_eval_errors_are_one_line(tmp_path):
    np.savez(tmp_path / "p.npz", points=np.zeros((10, 2), np.float32))
    np.savez(tmp_path / "i.npz", images=np.zeros((10, 1, 28, 28), np.uint8))
    for args, fragment in (([str(tmp_path / "p.npz")], "needs --data"),
                           ([str(tmp_path / "p.npz"), "--data", "8gaussians", "--metrics", "fid"], "unknown metric"),
                           ([str(tmp_path / "p.npz"), "--data", "mnist"], "cannot be evaluated"),
                           ([str(tmp_path / "p.npz"), "--data", "swissroll", "--metrics", "modes"], "ask for 'w1'"),
                           ([str(tmp_path / "i.npz"), "--data", "mnist", "--metrics", "class_accuracy"],
                            "evaluate the run directory or its checkpoint instead")):
        result = cli("eval", *args)
        assert result.returncode == 2 and fragment in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_metric_that_does_not_apply_to_the_data_is_named_with_the_one_that_does():
    def why(metrics, data, network=None):
        return evaluate.inapplicable(tuple(metrics), DataConfig(name=data), network)

    assert "for data=mnist ask for 'classes'" in why(["fid", "modes"], "mnist")
    assert "for data=cifar10 ask for 'pr' (recall)" in why(["modes"], "cifar10")
    assert "stacked triples are 'modes'" in why(["classes"], "stacked-mnist")
    assert "with inception features ask for 'is' or 'pr'" in why(["classes"], "cifar10")
    assert "'class_accuracy' uses a classifier of single 28x28" in why(["class_accuracy"], "cifar10")
    assert "not data=idx's labels" in why(["class_accuracy"], "idx")  # the MNIST network, but other labels
    assert "not data=mnist's labels" in why(["class_accuracy"], "mnist", "fashion-mnist")
    assert why(["class_accuracy"], "fashion-mnist") is None
    assert "data=moons has none: ask for 'w1'" in why(["modes"], "moons")
    assert why(["fid", "classes"], "mnist") is None and why(["modes"], "stacked-mnist") is None
    assert why(["modes", "w1"], "8gaussians") is None


def test_the_card_states_the_resize_rule_applied_to_these_images_not_every_rule_the_network_has():
    assert evaluate.resize_rule("mnist", (1, 28, 28)) == "none (28x28 greyscale, as the network reads them)"
    assert "3 channels read as one digit of a stack" in evaluate.resize_rule("mnist", (3, 28, 28))
    assert evaluate.resize_rule("inception", (3, 64, 64)) == \
        "bilinear from 64x64 to 299x299 as TensorFlow's FID graph"
    assert evaluate.resize_rule("inception", (1, 28, 28)).endswith("greyscale repeated to 3 channels")
