"""The critic against the exact batch W1: baselines on point sets whose W1 is known by hand, the critic's estimate
for a linear critic, and the opt-in evaluation in training (which never changes training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tests.conftest import tiny_mnist, tiny_toy
from tests.training.test_trainer import assert_identical, train, weights
from wganlab.errors import ConfigError
from wganlab.metrics.toy import wasserstein1_exact
from wganlab.metrics.wasserstein import CriticVersusW1, kmeans_centroids, real_baselines, summarize_run, w1_to_point
from wganlab.nets.layers import label_free
from wganlab.rundir.log import read_metrics


def test_w1_to_a_point_is_the_mean_distance():
    assert w1_to_point(np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 3.0]]), np.zeros(2)) == pytest.approx(5 / 3)


def test_w1_of_a_translated_set_is_the_length_of_the_translation():
    points = np.random.default_rng(0).normal(size=(50, 2))
    assert wasserstein1_exact(points, points + np.array([3.0, 4.0])) == pytest.approx(5.0)


def test_baselines_by_hand():
    batch = np.array([[0.0, 0.0], [2.0, 0.0]])
    other = np.array([[0.0, 1.0], [2.0, 1.0]])  # one unit above: W1 = 1
    pool = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])  # mean (1, 0); 2-means: the two points
    assert real_baselines(batch, other, pool, seed=0) == pytest.approx(
        {"w1_real_real": 1.0, "w1_real_mean": 1.0, "w1_real_centroids": 0.0})


def test_kmeans_with_as_many_centroids_as_distinct_points_finds_the_points():
    points = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    centroids = kmeans_centroids(np.repeat(points, 4, axis=0), 3, seed=1)
    assert sorted(map(tuple, centroids.round(6))) == sorted(map(tuple, points))


class Shift(nn.Module):
    """G(z) = z + shift, a generator whose samples are known."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(shift))

    def forward(self, z, y=None):
        return z + self.shift


def test_critic_estimate_and_batch_w1_for_a_linear_critic():
    torch.manual_seed(0)
    real = torch.randn(40, 2)
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[1.0, 0.0]]))
        critic.bias.zero_()
    measure = CriticVersusW1(real, None, latent_dim=2, batch=10, seed=3)
    out = measure(Shift(2.0), label_free(nn.Sequential(critic)))
    fake = measure.latents + 2.0
    assert out["critic_estimate"] == pytest.approx(float(real[:10, 0].mean() - fake[:, 0].mean()), abs=1e-6)
    assert out["w1_batch"] == pytest.approx(wasserstein1_exact(real[:10].numpy(), fake.numpy()), abs=1e-9)
    assert out["w1_real_real"] == pytest.approx(wasserstein1_exact(real[:10].numpy(), real[10:20].numpy()))


def test_training_logs_the_critic_against_w1_without_changing_training(tmp_path):
    plain = train(tiny_toy("steps=20", "eval_every=10"), tmp_path / "plain")
    measured = train(tiny_toy("steps=20", "eval_every=10", "eval.wasserstein=true", "eval.batch=64"),
                     tmp_path / "measured")
    assert_identical(weights(plain), weights(measured))
    record = [r for r in read_metrics(tmp_path / "measured") if "w1_batch" in r][-1]
    assert {"w1_batch", "critic_estimate", "w1_real_real", "w1_real_mean", "w1_real_centroids"} <= set(record)
    assert record["w1_real_mean"] > record["w1_real_real"]  # 8 gaussians: the mean (the origin) is far from all
    assert (tmp_path / "measured" / "critic_vs_w1.png").stat().st_size > 10_000
    assert not (tmp_path / "plain" / "critic_vs_w1.png").exists()


def test_images_are_measured_in_pixel_space(tmp_path):
    train(tiny_mnist("steps=4", "eval_every=2", "log_every=2", "eval_samples=64", "eval.wasserstein=true",
                     "eval.batch=32"), tmp_path / "r")
    record = read_metrics(tmp_path / "r")[-1]
    assert record["w1_batch"] > 0 and record["w1_real_real"] > record["w1_real_centroids"] > 0


def test_bad_settings_say_what_to_change(tmp_path):
    with pytest.raises(ConfigError, match="set eval_every > 0"):
        tiny_toy("eval.wasserstein=true", "eval_every=0")
    with pytest.raises(ConfigError, match=r"lower eval\.batch"):
        train(tiny_mnist("steps=2", "eval_every=1", "eval.wasserstein=true", "eval.batch=4096", "data.limit=100"),
              tmp_path / "r")


def test_a_runs_summary_from_its_evaluations():
    base = {"w1_real_real": 1.0, "w1_real_mean": 3.0, "w1_real_centroids": 0.75}
    records = [{"step": 5, "d_loss": 1.0},  # a log without an evaluation is skipped
               {"step": 10, "w1_batch": 4.0, "critic_estimate": 1.0, **base},
               {"step": 20, "w1_batch": 3.0, "critic_estimate": 0.5, **base},
               {"step": 30, "w1_batch": 2.0, "critic_estimate": 0.0, **base}]
    out = summarize_run(records)
    assert out["w1_batch"] == 2.0 and out["real_minus_centroids"] == 0.25
    assert out["critic_w1_error"] == 1.0  # |0 - 2| / 2
    assert out["critic_w1_correlation"] == pytest.approx(1.0)  # the estimate falls in step with W1
    assert "critic_w1_correlation" not in summarize_run(records[:3])  # two evaluations give no correlation
    assert summarize_run(records[:1]) == {}


def test_a_study_run_reports_the_critic_against_w1_in_its_result(tmp_path):
    from wganlab.study.task import execute_run

    overrides = ["data=8gaussians", "model.width=16", "model.mlp_depth=2", "batch_size=32", "steps=30",
                 "log_every=10", "eval_every=10", "eval_samples=64", "eval.wasserstein=true", "eval.batch=32"]
    result = execute_run(str(tmp_path / "run"), "wgan-gp", overrides, threads=1, evaluation_samples=128)
    assert result["status"] == "finished", result
    final = result["final"]
    assert {"w1_batch", "critic_estimate", "real_minus_centroids", "critic_w1_error", "critic_w1_correlation"} <= \
        set(final)
    assert -1 <= final["critic_w1_correlation"] <= 1
