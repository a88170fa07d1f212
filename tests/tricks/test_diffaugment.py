"""DiffAugment: each transform by hand, the identity at probability 0, gradients through every transform, the
hook in training; data.limit: the same few images for every seed, judged against the whole dataset."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_mnist
from wganlab.config import load_config
from wganlab.data.sources import make_source
from wganlab.errors import ConfigError, DataError
from wganlab.rundir.log import read_metrics
from wganlab.training.start import start_run
from wganlab.tricks.diffaugment.hook import POLICIES, augment, brightness, contrast, cutout, saturation, translation


def test_colour_transforms_by_hand():
    x = torch.tensor([[[[0.2]], [[0.4]], [[0.9]]]])  # one 1x1 RGB pixel, channel mean 0.5
    assert brightness(x, torch.tensor([0.75])).flatten().tolist() == pytest.approx([0.45, 0.65, 1.15])
    assert saturation(x, torch.tensor([0.25])).flatten().tolist() == pytest.approx([0.35, 0.45, 0.7])  # x0.5
    assert contrast(x, torch.tensor([1.0])).flatten().tolist() == pytest.approx([0.05, 0.35, 1.1])  # x1.5


def test_translation_moves_the_image_and_pads_with_zeros():
    x = torch.arange(1.0, 65.0).view(1, 1, 8, 8)  # reach: 1 pixel at 1/8 of 8
    right = translation(x, torch.tensor([[0.5, 0.99]]))  # u 0.5: no vertical shift; u 0.99: +1 column
    assert torch.equal(right[0, 0, :, 1:], x[0, 0, :, :-1]) and (right[0, 0, :, 0] == 0).all()
    assert torch.equal(translation(x, torch.tensor([[0.5, 0.5]])), x)  # the middle draw leaves it in place


def test_cutout_zeroes_one_square_of_half_the_side():
    x = torch.ones(1, 2, 8, 8)
    out = cutout(x, torch.tensor([[0.5, 0.5]]))  # centre (4, 4): rows and columns 2..5
    assert int((out[0, 0] == 0).sum()) == 16 and (out[0, 0, 2:6, 2:6] == 0).all()
    assert torch.equal(out[0, 0], out[0, 1])  # the same square in every channel


def test_probability_zero_is_the_identity_and_gradients_pass_every_transform():
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    policy = list(POLICIES)
    assert torch.equal(augment(x, policy, probability=0.0), x)
    out = augment(x, policy, probability=1.0)
    assert not torch.equal(out, x)
    (grad,) = torch.autograd.grad(out.square().sum(), x)
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_training_with_diffaugment_on_100_images(tmp_path):
    config = tiny_mnist("steps=3", "log_every=3", "data.limit=100",
                        "tricks.diffaugment.policy=color,translation,cutout")
    trainer = start_run(config, tmp_path / "aug", tensorboard=False)
    assert "diffaugment" in trainer.training.hooks.names() and len(trainer.source.images) == 100
    trainer.run(progress=False)
    assert read_metrics(tmp_path / "aug")[-1]["step"] == 3


def test_data_limit_keeps_the_same_images_for_every_seed_and_refuses_more_than_there_are():
    data = load_config("dcgan", ["data=mnist", "data.limit=50"]).data
    first = make_source(data, torch.device("cpu"), seed=0).images
    assert len(first) == 50 and torch.equal(first, make_source(data, torch.device("cpu"), seed=7).images)
    with pytest.raises(DataError, match=r"data\.limit=20000 but the dataset has 10000 images"):
        make_source(load_config("dcgan", ["data=mnist", "data.limit=20000"]).data, torch.device("cpu"))


def test_the_reference_of_a_limited_run_is_the_whole_dataset():
    from wganlab.metrics.evaluate import real_images

    data = load_config("dcgan", ["data=mnist", "data.limit=50"]).data
    assert len(real_images(data, 500)) == 500
    per_class = load_config("dcgan", ["data=mnist", "data.per_class=5"]).data  # 50 digits too
    assert len(real_images(per_class, 500)) == 500


def test_bad_policies_and_toy_data_are_refused():
    with pytest.raises(ConfigError, match="'blur' is none of them"):
        load_config("dcgan", ["data=mnist", "tricks.diffaugment.policy=color,blur"])
    with pytest.raises(ConfigError, match="augments images; data=8gaussians is a 2D toy"):
        load_config("dcgan", ["data=8gaussians", "tricks.diffaugment.policy=color"])
