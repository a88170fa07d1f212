import math

import numpy as np
import pytest
import torch

from wganlab.data.toy import eight_gaussians
from wganlab.metrics.toy import mode_coverage, wasserstein1_exact


def test_real_samples_cover_all_modes():
    torch.manual_seed(0)
    mixture = eight_gaussians()
    report = mode_coverage(mixture.sample(20_000, torch.device("cpu")), mixture)
    assert report.modes_covered == 8
    assert report.high_quality == pytest.approx(1 - math.exp(-4.5), abs=0.003)  # mass within 3σ of a 2D normal


def test_samples_from_four_centres_cover_four_modes():
    torch.manual_seed(0)
    mixture = eight_gaussians()
    index = torch.randint(4, (4000,))
    points = mixture.centres[index] + mixture.std * torch.randn(4000, 2)
    assert mode_coverage(points, mixture).modes_covered == 4


def test_w1_exact_by_hand():
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    b = np.array([[1.0, 1.0], [0.0, 1.0]])  # best matching moves each point up by 1
    assert wasserstein1_exact(a, b) == pytest.approx(1.0)
    assert wasserstein1_exact(a, a[::-1]) == 0.0
    shifted = a + np.array([3.0, 4.0])
    assert wasserstein1_exact(a, shifted) == pytest.approx(5.0)


def test_the_two_mode_counts_differ_on_a_mixture_with_every_mode_too_wide():
    """Every mode holds a few high-quality samples, most samples lie between modes: the VEEGAN count (at least
    one good sample) says all modes, the 1 % rule only those holding 1 % of all samples."""
    mixture = eight_gaussians()
    centres = mixture.centres.float()
    near = [centres[i].repeat(count, 1) for i, count in enumerate([30, 30, 30, 30, 5, 5, 5, 5])]  # 3 of 1,000 each
    far = torch.zeros(860, 2)  # the origin: far from every centre on the radius-2 circle
    report = mode_coverage(torch.cat([*near, far]), mixture)
    assert report.per_mode == [30, 30, 30, 30, 5, 5, 5, 5]
    assert (report.modes_covered, report.modes_any, report.modes_total) == (4, 8, 8)  # 1 % of 1,000 is 10
    assert report.high_quality == pytest.approx(140 / 1000)
