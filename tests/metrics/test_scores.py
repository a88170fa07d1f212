"""KID, Inception Score, precision/recall, density/coverage and class coverage against hand-computed values."""

import numpy as np
import pytest
import torch

from wganlab.errors import ConfigError
from wganlab.metrics.scores import asked_class_accuracy, class_coverage, inception_score, kid, neighbour_radii, prdc


def mmd2_unbiased(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased MMD² of two equal-size sets with k(x, y) = (xᵀy / d + 1)³ (diagonals left out), as written."""
    d, m = a.shape[1], len(a)
    k_aa, k_bb, k_ab = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    within = (k_aa.sum() - k_aa.diagonal().sum() + k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_ab.mean())


def test_mmd2_unbiased_matches_the_formula_by_hand():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[1.0, 1.0], [2.0, 0.0]], dtype=torch.float64)

    def k(x, y):
        return (float(x @ y) / 2 + 1) ** 3

    within = (k(a[0], a[1]) * 2 + k(b[0], b[1]) * 2) / 2
    across = sum(k(x, y) for x in a for y in b) / 4
    assert mmd2_unbiased(a, b) == pytest.approx(within - 2 * across)
    # KID of one subset holding every row is that MMD² (the subset's order does not matter), with no spread
    assert kid(a, b, subsets=1, subset_size=2) == pytest.approx((within - 2 * across, 0.0))


def test_kid_is_unbiased_near_zero_for_one_distribution_and_positive_otherwise():
    rng = np.random.default_rng(0)
    same_mean, _ = kid(rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16)), subsets=20, subset_size=500)
    shifted, _ = kid(rng.normal(size=(2000, 16)), rng.normal(size=(2000, 16)) + 0.5, subsets=20, subset_size=500)
    assert abs(same_mean) < 0.01 < shifted


def test_inception_score_extremes():
    uniform = torch.full((1000, 10), 0.1)
    assert inception_score(uniform)[0] == pytest.approx(1.0)
    confident = torch.eye(10).repeat(100, 1)  # every class equally often, each prediction certain
    assert inception_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
    collapsed = torch.eye(10)[[3] * 1000]
    assert inception_score(collapsed)[0] == pytest.approx(1.0)


def test_prdc_identical_and_disjoint_sets():
    x = torch.randn(300, 8, generator=torch.Generator().manual_seed(0))
    same = prdc(x, x.clone())
    assert same.precision == same.recall == same.coverage == 1.0
    # each copied point lies in its own ball and in those of the real points it is a 5-NN of: on average 6/5
    assert same.density == pytest.approx(1.2, abs=0.05)
    other = prdc(x, torch.randn(300, 8, generator=torch.Generator().manual_seed(9)))
    assert other.density == pytest.approx(1.0, abs=0.2)  # independent draws of one distribution: about 1
    far = prdc(x, x + 100)
    assert far.precision == far.recall == far.coverage == far.density == 0.0


def test_prdc_on_a_line_by_hand():
    """Real 0, 1, 3, 6 and generated 0.5, 0.8, 11.2, 12 with k = 1 for precision/recall and 2 for density/coverage.
    Real radii: 1st neighbour 1, 1, 2, 3; 2nd 3, 2, 3, 5. Generated 1st-neighbour radii: 0.3, 0.3, 0.8, 0.8.
    Precision: 0.5 and 0.8 lie in the ball of 0 -> 2/4. Recall: only 1 lies in a generated ball (0.8's) -> 1/4.
    Density: 0.5 and 0.8 each lie in the 2nd-neighbour balls of 0, 1 and 3, the others in none -> 6 / (2 x 4).
    Coverage: the nearest generated point of 0, 1 and 3 is inside their ball, that of 6 (11.2, at 5.2 > 5) not."""
    real = torch.tensor([[0.0], [1.0], [3.0], [6.0]])
    fake = torch.tensor([[0.5], [0.8], [11.2], [12.0]])
    radii = neighbour_radii(real, (1, 2))
    assert radii[1].tolist() == [1, 1, 2, 3] and radii[2].tolist() == [3, 2, 3, 5]
    result = prdc(real, fake, k_pr=1, k_dc=2)
    assert (result.precision, result.recall, result.density, result.coverage) == (0.5, 0.25, 0.75, 0.75)
    assert prdc(real, fake, k_pr=1, k_dc=2, real_radii=radii) == result  # cached radii: the same numbers


def test_neighbour_radii_are_the_kthvalue_of_each_row_bit_for_bit_duplicates_included():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(300, 16, generator=g)
    x = torch.cat([x, x[:40]])  # 40 exact duplicates: ties at distance 0
    radii = neighbour_radii(x, (3, 5), chunk=128)
    for k in (3, 5):
        expected = torch.cat([torch.cdist(x[s : s + 128], x).kthvalue(k + 1, dim=1).values for s in range(0, 340, 128)])
        assert torch.equal(radii[k], expected), k


def test_prdc_of_too_few_samples_is_a_config_error_naming_k():
    x = torch.randn(50, 4)
    with pytest.raises(ConfigError, match=r"own set \(k = 5\), which needs more than 5 samples, got 5"):
        prdc(x[:5], x)  # the real set: density and coverage use k = 5
    with pytest.raises(ConfigError, match=r"\(k = 3\), which needs more than 3 samples, got 3"):
        prdc(x, x[:3])  # the generated set: recall uses k = 3


def test_prdc_half_overlap():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(400, 2, generator=g)
    fake = torch.cat([real[:200] + 1e-4, torch.randn(200, 2, generator=g) + 50])
    result = prdc(real, fake)
    assert result.precision == pytest.approx(0.5, abs=0.02)


def test_class_coverage_and_kl():
    real_mix = torch.full((10,), 0.1)
    only_five = torch.eye(10)[torch.arange(1000) % 5]
    report = class_coverage(only_five, real_mix)
    assert report.covered == 5 and report.histogram[:5] == [200] * 5
    assert report.kl_to_real == pytest.approx(np.log(2))  # 5 classes at 0.2 against 0.1 each
    balanced = class_coverage(torch.eye(10)[torch.arange(1000) % 10], real_mix)
    assert balanced.covered == 10 and balanced.kl_to_real == pytest.approx(0.0, abs=1e-9)


def test_asked_class_accuracy_by_hand():
    # three classes; the classifier's argmax for six samples, two asked for each class
    probs = torch.eye(3)[torch.tensor([0, 0, 1, 2, 0, 1])]
    asked = torch.tensor([0, 0, 1, 1, 2, 2])
    assert asked_class_accuracy(probs, asked) == [1.0, 0.5, 0.0]
    # a generator that ignores its label: the same predictions whatever it was asked, 1/K on average
    ignored = torch.eye(4)[torch.tensor([2, 0, 3, 3] * 4)]
    shares = asked_class_accuracy(ignored, torch.arange(16) // 4)
    assert sum(shares) / len(shares) == pytest.approx(1 / 4)
    with pytest.raises(ValueError, match="3 asked classes for 6 samples"):
        asked_class_accuracy(probs, asked[:3])
    with pytest.raises(ValueError, match="class 3 was asked for, but the classifier knows 3 classes"):
        asked_class_accuracy(probs, torch.tensor([0, 0, 1, 1, 2, 3]))
    assert asked_class_accuracy(probs, torch.tensor([2, 2, 2, 2, 2, 2])) == [1 / 6]  # only the classes asked for


def test_kid_refuses_sets_smaller_than_its_subsets_and_the_evaluation_picks_a_size_that_fits():
    from wganlab.errors import ConfigError
    from wganlab.metrics.scores import kid_subset_size

    rng = np.random.default_rng(0)
    small, large = rng.normal(size=(300, 8)), rng.normal(size=(2000, 8))
    with pytest.raises(ConfigError, match=r"KID needs at least 1000 samples in each set .* got 2000 real and 300"):
        kid(large, small)  # torch-fidelity refuses the same; reusing every row would report a spread of 0
    assert kid_subset_size(2000, 5000) == 1000 and kid_subset_size(2000, 300) == 150
    _, spread = kid(large, small, subsets=10, subset_size=kid_subset_size(2000, 300))
    assert spread > 0  # the subsets differ


@pytest.mark.parametrize("n_real, n_fake, subsets, size", [(40, 30, 3, 30),  # whole kernel matrices are cheaper
                                                          (400, 300, 2, 20)])  # subset by subset is cheaper
def test_kid_is_the_mean_and_spread_of_each_subsets_mmd2_by_either_way_of_summing(n_real, n_fake, subsets, size):
    from wganlab.metrics.scores import kid_real_sums, kid_subsets

    rng = np.random.default_rng(3)
    real = torch.from_numpy(rng.normal(size=(n_real, 5)))
    fake = torch.from_numpy(rng.normal(size=(n_fake, 5)) + 0.4)
    real_rows, fake_rows = kid_subsets(n_real, n_fake, subsets, size, seed=7)
    draws = torch.Generator().manual_seed(7)  # the subsets KID has always drawn: a real one, then a generated one
    for a, b in zip(real_rows, fake_rows, strict=True):
        assert torch.equal(a, torch.randperm(n_real, generator=draws)[:size])
        assert torch.equal(b, torch.randperm(n_fake, generator=draws)[:size])
    by_hand = [mmd2_unbiased(real[a], fake[b]) for a, b in zip(real_rows, fake_rows, strict=True)]
    mean, spread = kid(real, fake, subsets=subsets, subset_size=size, seed=7)
    assert mean == pytest.approx(np.mean(by_hand), rel=1e-12) and spread == pytest.approx(np.std(by_hand), rel=1e-9)
    cached = kid_real_sums(real, n_fake, subsets, size, seed=7)  # the real side alone, as the evaluation caches it
    assert kid(real, fake, subsets=subsets, subset_size=size, seed=7, real_sums=cached) == (mean, spread)
    with pytest.raises(ConfigError, match="real_sums holds \\(2,\\) sums for 3 KID subsets"):
        kid(real, fake, subsets=3, subset_size=size, seed=7, real_sums=cached[:2])
