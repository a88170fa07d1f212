"""Training-health flags on hand-made loss histories, and their plumbing through a run."""

import json

import torch

from tests.conftest import tiny_toy
from wganlab.training.health import WINDOW, health_flags, sample_diversity
from wganlab.training.start import start_run


def history(d, g, diversity=None):
    return [{"step": 10 * (i + 1), "d_loss": a, "g_loss": b, "diversity": None if diversity is None else diversity[i]}
            for i, (a, b) in enumerate(zip(d, g, strict=True))]


def test_vanishing_gradients_needs_a_whole_window():
    assert "vanishing-gradients" in health_flags(history([0.01] * WINDOW, [5, 6, 5, 6, 5]), "non-saturating")
    assert not health_flags(history([0.01] * (WINDOW - 1) + [0.3], [5, 6, 5, 6, 5]), "non-saturating")


def test_generator_diverging():
    flags = health_flags(history([0.5, 0.4, 0.5, 0.4, 0.5], [1, 2, 3, 4, 5]), "minimax")
    assert "generator-diverging" in flags and "1 -> 5" in flags["generator-diverging"]
    assert "generator-diverging" not in health_flags(history([0.5] * 5, [1, 2, 1.5, 3, 4]), "minimax")


def test_both_flat():
    assert "both-flat" in health_flags(history([1.3863] * 5, [0.6931] * 5), "non-saturating")
    assert "both-flat" not in health_flags(history([1.3, 1.1, 1.4, 1.2, 1.3], [0.7] * 5), "non-saturating")


def test_loss_rules_skip_wasserstein_objectives():
    assert not health_flags(history([0.0] * 5, [1, 2, 3, 4, 5]), "wasserstein")


def test_mode_collapse_from_diversity():
    flags = health_flags(history([0.6] * 5, [1, 1.2, 0.9, 1.1, 1.0], [0.25, 0.2, 0.15, 0.1, 0.05]), "wasserstein")
    assert "mode-collapse" in flags
    assert not health_flags(history([0.6] * 5, [1, 1.2, 0.9, 1.1, 1.0], [0.9] * 5), "wasserstein")


def test_sample_diversity_by_hand():
    assert sample_diversity(torch.tensor([[0.0, 0.0], [3.0, 4.0]])) == 5.0
    assert sample_diversity(torch.zeros(10, 3)) == 0.0


def test_collapsed_generator_is_flagged_in_a_run(tmp_path):
    trainer = start_run(tiny_toy("steps=60", "log_every=5", "eval_every=0"), tmp_path / "r", tensorboard=False)
    with torch.no_grad():  # a generator whose last layer ignores z: every sample is the same point
        last = trainer.generator[-1]
        last.weight.zero_()
        last.bias.fill_(0.3)
        last.weight.requires_grad_(False)
        last.bias.requires_grad_(False)
    trainer.run(progress=False)
    health = json.loads((tmp_path / "r" / "health.json").read_text())
    assert "mode-collapse" in health and health["mode-collapse"]["first_step"] >= 5 * WINDOW
