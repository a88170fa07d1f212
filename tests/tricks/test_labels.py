"""Label targets: smoothing values reach the loss exactly; flips happen at the configured rate."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from wganlab.config import load_config
from wganlab.errors import ConfigError
from wganlab.objectives import NonSaturating
from wganlab.tricks.labels.hook import LabelTargets
from wganlab.tricks.labels.settings import LabelsConfig


def test_one_and_two_sided_smoothing_targets():
    real, fake = LabelTargets(LabelsConfig(real=0.9, fake=0.1))(3, 2, torch.device("cpu"))
    assert real.tolist() == pytest.approx([0.9] * 3) and fake.tolist() == pytest.approx([0.1] * 2)
    assert LabelTargets(LabelsConfig()).plain and not LabelTargets(LabelsConfig(real=0.9)).plain


def test_smoothed_loss_is_the_hand_computed_cross_entropy():
    logits_real, logits_fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    real_t, fake_t = LabelTargets(LabelsConfig(real=0.9))(2, 1, torch.device("cpu"))
    got = NonSaturating().critic_loss(logits_real, logits_fake, real_t, fake_t)
    s = torch.sigmoid
    by_hand = (-(0.9 * torch.log(s(logits_real)) + 0.1 * torch.log(1 - s(logits_real)))).mean() \
        - torch.log(1 - s(logits_fake)).mean()
    assert float(got) == pytest.approx(float(by_hand), rel=1e-6)
    assert float(got) == pytest.approx(float(F.binary_cross_entropy_with_logits(logits_real, real_t)
                                             + F.binary_cross_entropy_with_logits(logits_fake, fake_t)), rel=1e-6)


def test_plain_targets_give_the_original_loss():
    real, fake = torch.randn(50), torch.randn(40)
    plain = NonSaturating().critic_loss(real, fake)
    explicit = NonSaturating().critic_loss(real, fake, torch.ones(50), torch.zeros(40))
    assert float(plain) == pytest.approx(float(explicit), rel=1e-6)


def test_flip_rate_is_within_a_binomial_tolerance():
    torch.manual_seed(0)
    n, p = 200_000, 0.05
    real, fake = LabelTargets(LabelsConfig(flip=p))(n, n, torch.device("cpu"))
    for flipped in ((real == 0).sum().item(), (fake == 1).sum().item()):
        assert abs(flipped - n * p) < 4 * math.sqrt(n * p * (1 - p))  # 4 standard deviations
    assert set(real.unique().tolist()) == {0.0, 1.0}


def test_label_tricks_are_refused_for_a_wasserstein_critic():
    with pytest.raises(ConfigError, match="objective=wasserstein has none"):
        load_config("wgan-gp", ["tricks.labels.real=0.9"])
    with pytest.raises(ConfigError, match="must be below"):
        load_config("dcgan", ["tricks.labels.real=0.4", "tricks.labels.fake=0.5"])


def test_the_hook_sets_both_targets_and_only_the_fake_one_for_fakes_alone():
    from tests.conftest import FakeStep
    from wganlab.training.hooks import CriticBatch
    from wganlab.tricks.labels.hook import LabelTargetsHook

    context = FakeStep()
    hook = LabelTargetsHook(LabelTargets(LabelsConfig(real=0.9, fake=0.1)))
    batch = hook.adjust_critic_batch(CriticBatch(torch.zeros(3, 2), None, torch.zeros(3, 2), None), context)
    assert batch.real_target.tolist() == pytest.approx([0.9] * 3) and batch.fake_target.tolist() == pytest.approx(
        [0.1] * 3)
    alone = hook.adjust_critic_batch(CriticBatch(None, None, torch.zeros(5, 2), None), context)
    assert alone.real_target is None and alone.fake_target.tolist() == pytest.approx([0.1] * 5)
