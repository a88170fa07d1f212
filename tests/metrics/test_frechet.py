import numpy as np
import pytest
import scipy.linalg

from wganlab.metrics.frechet import Gaussian, frechet_distance


def scipy_reference(a: Gaussian, b: Gaussian) -> float:
    covmean = scipy.linalg.sqrtm(a.cov @ b.cov).real
    diff = a.mean - b.mean
    return float(diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2 * np.trace(covmean))


@pytest.mark.parametrize("dim", [2, 16, 64])
def test_matches_scipy_sqrtm_on_random_covariances(dim):
    rng = np.random.default_rng(dim)
    for _ in range(5):
        a = Gaussian.fit(rng.normal(size=(4 * dim, dim)) @ rng.normal(size=(dim, dim)))
        b = Gaussian.fit(rng.normal(size=(4 * dim, dim)) @ rng.normal(size=(dim, dim)) + 0.3)
        ours, reference = frechet_distance(a, b), scipy_reference(a, b)
        assert abs(ours - reference) / abs(reference) < 1e-6


def test_identical_sets_give_zero():
    x = np.random.default_rng(0).normal(size=(500, 32))
    assert frechet_distance(Gaussian.fit(x), Gaussian.fit(x)) == pytest.approx(0.0, abs=1e-6)


def test_fewer_samples_than_dimensions_is_finite():
    rng = np.random.default_rng(1)
    a, b = Gaussian.fit(rng.normal(size=(20, 128))), Gaussian.fit(rng.normal(size=(20, 128)) + 1)
    value = frechet_distance(a, b)
    assert np.isfinite(value) and value > 0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_gaussians_in_closed_form():
    # N(0, I) vs N(m, 4I) in d dims: ‖m‖² + d + 4d − 2·2d = ‖m‖² + d
    d = 3
    a = Gaussian(np.zeros(d), np.eye(d), 0)
    b = Gaussian(np.array([1.0, 2.0, 2.0]), 4 * np.eye(d), 0)
    assert frechet_distance(a, b) == pytest.approx(9.0 + d)
