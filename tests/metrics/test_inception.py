"""Inception-V3 plumbing through torch-fidelity, with random weights the test writes (the real ones cannot be
downloaded here): shapes, FID(x, x) = 0, agreement with torch-fidelity's own FID, refusal of unsafe files."""

from unittest import mock

import pytest
import torch

from tests.conftest import SystemCallPayload, import_torch_fidelity
from wganlab.errors import CheckpointError, ConfigError
from wganlab.metrics.frechet import Gaussian, frechet_distance


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    import_torch_fidelity()
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with mock.patch.object(torch, "load", return_value={}), \
            mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict"):
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="x")
    torch.manual_seed(0)
    for module in model.modules():  # He init keeps activations alive through the ~100 layers (defaults vanish)
        if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    state = model.state_dict()
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def extractor(random_weights):
    from wganlab.metrics.inception import InceptionFeatures

    return InceptionFeatures(random_weights)


def digits(n, seed):
    return torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


@pytest.fixture(scope="module")
def two_sets(extractor):
    """Features of two sets of 20 random digits, the second darker (Inception costs about 0.3 s an image here)."""
    return extractor(digits(20, 2)), extractor(digits(20, 3) // 2)


def test_features_are_2048_wide(two_sets):
    features = two_sets[0]
    assert features.shape == (20, 2048) and features.dtype == torch.float32 and torch.isfinite(features).all()
    assert features.std(0).mean() > 1e-3  # not a dead network: the FID checks below compare real numbers


def test_fid_of_a_set_with_itself_is_zero(two_sets):
    features = two_sets[0]
    assert frechet_distance(Gaussian.fit(features), Gaussian.fit(features)) == pytest.approx(0.0, abs=1e-6)


def test_fid_matches_torch_fidelity_on_the_same_features(two_sets):
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    a, b = two_sets
    # the first 512 of the 2048 features: the same formula on covariances of rank 19 (the hard case), without
    # torch-fidelity's eigenvalues of a 2048x2048 product, which cost most of this test on one thread
    a, b = a[:, :512], b[:, :512]
    ours = frechet_distance(Gaussian.fit(a), Gaussian.fit(b))
    assert ours > 1e-3
    theirs = fid_statistics_to_metric(fid_features_to_statistics(a.double()), fid_features_to_statistics(b.double()),
                                      verbose=False)["frechet_inception_distance"]
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_unsafe_weights_file_is_refused(tmp_path):
    from wganlab.metrics.inception import resolve_weights

    marker = tmp_path / "pwned"
    torch.save({"w": SystemCallPayload(marker)}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="refusing"):
        resolve_weights(tmp_path / "evil.pth")
    assert not marker.exists()


def test_missing_weights_say_where_to_put_them(tmp_path, monkeypatch):
    from wganlab.metrics.inception import WEIGHTS_FILE, resolve_weights

    monkeypatch.delenv("WGANLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match=WEIGHTS_FILE):
        resolve_weights()


def test_eval_with_inception_features(random_weights, tmp_path, monkeypatch):
    from wganlab.config import DataConfig
    from wganlab.metrics.evaluate import evaluate_images

    monkeypatch.setenv("WGANLAB_CACHE", str(tmp_path))
    fake = torch.rand(12, 1, 28, 28, generator=torch.Generator().manual_seed(4)) * 2 - 1
    report = evaluate_images(fake, DataConfig(name="mnist"), ("fid", "is", "classes"), network="inception",
                             reference_count=12, inception_weights=random_weights)
    assert report["features"] == "inception" and report["fid"] > 0 and report["is"] >= 1
    assert "classes_covered" not in report  # class histograms need wganlab's own classifiers
