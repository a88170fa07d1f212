import math

import pytest
import torch

from wganlab.data.toy import ToySource, eight_gaussians, twenty_five_gaussians
from wganlab.metrics.toy import mode_coverage

CPU = torch.device("cpu")


def test_eight_gaussians_geometry():
    mixture = eight_gaussians()
    radii = mixture.centres.norm(dim=1)
    assert torch.allclose(radii, torch.full((8,), 2 / 1.414), atol=1e-6)
    angles = torch.atan2(mixture.centres[:, 1], mixture.centres[:, 0]) % (2 * math.pi)
    assert torch.allclose(angles.sort().values, torch.arange(8) * math.pi / 4, atol=1e-6)
    assert mixture.std == pytest.approx(0.02 / 1.414)


def test_twenty_five_gaussians_geometry():
    mixture = twenty_five_gaussians()
    assert len(mixture.centres) == 25
    assert mixture.centres.max().item() == pytest.approx(4 / 2.828)
    assert mixture.std == pytest.approx(0.05 / 2.828)


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_mixture_samples_cover_every_mode(name):
    torch.manual_seed(0)
    source = ToySource(name, CPU)
    report = mode_coverage(source.sample(20_000), source.mixture)
    assert report.modes_covered == report.modes_total
    # a 2D Gaussian puts 1 − exp(−3²/2) = 98.89% of its mass within 3σ (Euclidean) of its centre
    assert report.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.003)


def test_sampling_is_fresh_each_call():
    source = ToySource("swissroll", CPU)
    assert not torch.equal(source.sample(16), source.sample(16))


def test_swissroll_scale():
    torch.manual_seed(0)
    points = ToySource("swissroll", CPU).sample(50_000)
    radius = points.norm(dim=1)
    # t in [1.5π, 4.5π], radius t/7.5 plus noise 0.25/7.5
    assert radius.min() > 1.5 * math.pi / 7.5 - 0.2 and radius.max() < 4.5 * math.pi / 7.5 + 0.2


def test_scurve_and_moons_lie_on_their_curves():
    torch.manual_seed(0)
    s = ToySource("scurve", CPU).sample(1000)
    assert s[:, 0].abs().max() <= 1 and s[:, 1].abs().max() <= 2
    m = ToySource("moons", CPU).sample(1000)
    outer = (m.norm(dim=1) - 1).abs() < 1e-5
    inner = ((m - torch.tensor([1.0, 0.5])).norm(dim=1) - 1).abs() < 1e-5
    assert bool((outer | inner).all()) and 300 < outer.sum() < 700
