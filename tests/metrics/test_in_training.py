"""The evaluation during training (wganlab.metrics.in_training): what ``eval.prdc`` adds to each evaluation, and
that it reads a collapse as one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from tests.conftest import tiny_mnist
from tests.training.test_trainer import train
from wganlab.data.sources import make_source
from wganlab.errors import ConfigError
from wganlab.metrics.in_training import TrainingEvaluator
from wganlab.rundir.log import read_metrics


class ReplaysImages(nn.Module):
    """A stand-in generator: ignores its noise and returns the given images in turn."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("images", images)
        self.unused = nn.Parameter(torch.zeros(()))  # the evaluator reads the device from a parameter

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.images[torch.arange(len(z)) % len(self.images)]


@pytest.fixture(scope="module")
def evaluator_and_digits():
    config = tiny_mnist("eval_every=1", "eval_samples=1000", "eval.prdc=true")
    source = make_source(config.data, torch.device("cpu"))
    torch.manual_seed(0)
    return TrainingEvaluator(config, 8, source, torch.device("cpu")), source.sample(1000)


def test_a_generator_drawing_real_digits_has_high_recall_and_coverage(evaluator_and_digits):
    evaluator, digits = evaluator_and_digits
    found = evaluator(ReplaysImages(digits))
    assert found["fid"] < 15  # 1,000 of the reference's 10,000 digits: only the small-sample bias
    assert found["precision"] == 1.0  # each is a reference digit, inside its own ball
    assert found["recall"] > 0.5
    assert 0.6 < found["density"] < 1.6  # about 1 for samples distributed as the reference
    # A real digit is covered when one of the 1,000 lies within its 5th-nearest-neighbour distance among the
    # 10,000, so even real digits cover well under all of them: coverage grows with the generated set, and a
    # run's evaluations, which all draw the same number, compare among themselves.
    assert 0.2 < found["coverage"] < 0.5


def test_a_collapsed_generator_keeps_its_precision_and_loses_recall_and_coverage(evaluator_and_digits):
    """One real digit drawn 1,000 times: every sample is a real digit (precision 1), but its k-nearest-neighbour
    radius among the generated samples is 0, so it recalls only itself among the 10,000 (recall at most 1e-4), and
    only the real digits whose 5th-nearest-neighbour ball holds that one digit are covered."""
    evaluator, digits = evaluator_and_digits
    found = evaluator(ReplaysImages(digits[:1]))
    assert found["precision"] == 1.0
    assert found["recall"] <= 1e-4
    assert found["coverage"] < 0.01


def test_eval_prdc_logs_the_four_at_every_evaluation(tmp_path):
    train(tiny_mnist("steps=4", "eval_every=2", "log_every=2", "eval.prdc=true"), tmp_path / "run")
    records = [r for r in read_metrics(tmp_path / "run") if "fid" in r]
    assert [r["step"] for r in records] == [2, 4]
    for record in records:
        assert all(0.0 <= record[key] <= 1.0 for key in ("precision", "recall", "coverage"))
        assert record["density"] >= 0.0


def test_without_eval_prdc_an_evaluation_is_the_fid_alone(evaluator_and_digits):
    _, digits = evaluator_and_digits
    config = tiny_mnist("eval_every=1", "eval_samples=1000")
    plain = TrainingEvaluator(config, 8, make_source(config.data, torch.device("cpu")), torch.device("cpu"))
    assert set(plain(ReplaysImages(digits))) == {"fid", "eval_seconds"}


def test_eval_prdc_is_refused_where_the_run_has_no_in_training_fid():
    rgb = SimpleNamespace(shape=(3, 32, 32), is_vectors=False)  # what a CIFAR-10 source reports
    with pytest.raises(ConfigError, match=r"eval\.prdc=true measures beside the in-training FID.*--metrics pr"):
        TrainingEvaluator(tiny_mnist("eval_every=1", "eval.prdc=true"), 8, rgb, torch.device("cpu"))
    assert TrainingEvaluator(tiny_mnist("eval_every=1"), 8, rgb, torch.device("cpu")).unavailable
