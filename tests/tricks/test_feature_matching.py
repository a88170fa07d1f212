"""Feature matching: zero when the generated features' mean equals the real one; trains a generator."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_mnist
from wganlab.training.trainer import Trainer
from wganlab.tricks.matching.hook import feature_matching_loss


def test_loss_is_zero_when_features_match_and_the_squared_gap_otherwise():
    features = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
    assert float(feature_matching_loss(features, features.mean(0))) == 0.0
    shifted = features.mean(0) + torch.tensor([2.0] + [0.0] * 7)
    assert float(feature_matching_loss(features, shifted)) == pytest.approx(4.0 / 8, rel=1e-6)  # float32 sums


def test_generator_trains_on_discriminator_features(tmp_path):
    for layer in ("features", "last"):
        config = tiny_mnist("steps=4", f"tricks.feature_matching={layer}", "model.d_dense=16", preset="dcgan")
        trainer = Trainer(config, tmp_path / layer, tensorboard=False)
        before = [p.clone() for p in trainer.generator.parameters()]
        stats = trainer.training.generator_update()
        assert float(stats["g_loss"]) == float(stats["feature_matching"]) >= 0
        assert any(not torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters(), strict=True))
        real, _ = trainer.training.real_batch()
        width = trainer.discriminator.features(real, None, layer).shape[1]
        assert width == (trainer.discriminator.body_features if layer == "features" else 16)


def test_the_hook_replaces_the_adversarial_loss_with_the_feature_gap():
    from tests.conftest import FakeStep
    from wganlab.tricks.matching.hook import FeatureMatching

    context = FakeStep()
    hook = FeatureMatching("features")
    assert hook.replaces_generator_objective
    fake = context.real + 1.0  # FakeStep's features are 2x: every feature's mean is 2 apart, squared 4
    (term,) = hook.generator_terms(fake, None, context)
    assert (term.name, float(term.value), term.weight) == ("feature_matching", 4.0, 1.0)
