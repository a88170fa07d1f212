"""wganlab augment: the scores on fixtures whose answer is known, the rows it trains and tests on, the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.data.test_table import two_blobs
from wganlab.cli import main
from wganlab.config import load_config
from wganlab.data.sources import held_out_rows, training_rows
from wganlab.errors import ConfigError, DataError
from wganlab.metrics.augmentation import Recipe, _labels_like, augmentation_scores, build_classifier, real_rows

QUICK = Recipe("mlp", steps=150)


def blobs(labels: torch.Tensor, seed: int) -> torch.Tensor:
    """Two classes that a line separates: class 0 around (-3, 0), class 1 around (3, 0)."""
    noise = torch.randn(len(labels), 2, generator=torch.Generator().manual_seed(seed)) * 0.3
    return noise + torch.stack([6.0 * labels.float() - 3.0, torch.zeros(len(labels))], dim=1)


def split(n: int, seed: int):
    y = torch.arange(n) % 2
    return blobs(y, seed), y


def test_a_generator_of_the_real_distribution_scores_perfectly_everywhere():
    result = augmentation_scores(split(40, 0), split(200, 1), blobs, 2, QUICK, seeds=2, ratios=(1.0, 2.0))
    assert {name: s["mean"] for name, s in result["summary"].items()} == {
        "real": 1.0, "generated": 1.0, "gan_test": 1.0, "real+filtered x1": 1.0, "real+generated x1": 1.0,
        "real+generated x2": 1.0}
    assert result["train_rows"] == 40 and result["test_rows"] == 200 and len(result["per_seed"]["real"]) == 2


def test_a_generator_that_ignores_the_class_leaves_gan_train_and_gan_test_at_chance():
    def ignores_labels(labels: torch.Tensor, seed: int) -> torch.Tensor:
        coin = torch.randint(2, (len(labels),), generator=torch.Generator().manual_seed(seed + 7))
        return blobs(coin, seed)

    result = augmentation_scores(split(200, 0), split(400, 1), ignores_labels, 2, QUICK, seeds=3, ratios=(1.0,))
    summary = result["summary"]
    assert summary["real"]["mean"] == 1.0
    assert abs(summary["generated"]["mean"] - 0.5) < 0.2  # trained on rows whose labels say nothing: chance
    assert abs(summary["gan_test"]["mean"] - 0.5) < 0.1  # the real classifier finds half of them in their class


def test_the_filtered_arm_keeps_the_candidates_the_real_classifier_believes():
    """Half the candidates are drawn in the wrong blob: of 4 per row, the filter keeps rows of the asked class."""
    from wganlab.metrics.augmentation import filtered_rows, train_classifier

    def half_wrong(labels: torch.Tensor, seed: int) -> torch.Tensor:
        flip = torch.rand(len(labels), generator=torch.Generator().manual_seed(seed)) < 0.5  # in the other blob
        return blobs(torch.where(flip, 1 - labels, labels), seed)

    judge = train_classifier(*split(100, 0), 2, QUICK, seed=0)
    labels = torch.tensor([0, 0, 1, 1, 1])
    kept = filtered_rows(judge, half_wrong, labels, seed=3)
    assert kept.shape == (5, 2)
    assert torch.equal(torch.sign(kept[:, 0]), torch.tensor([-1.0, -1.0, 1.0, 1.0, 1.0]))  # each in its class
    unfiltered = half_wrong(labels.repeat(4), 3)
    assert (torch.sign(unfiltered[:, 0]) != torch.where(labels.repeat(4) == 1, 1.0, -1.0)).any()
    result = augmentation_scores(split(60, 0), split(200, 1), half_wrong, 2, QUICK, seeds=2, ratios=(1.0,))
    assert result["summary"]["real+filtered x1"]["mean"] == 1.0  # the filter removed the mislabelled rows


def test_generated_labels_keep_the_real_class_mix():
    y = torch.tensor([0, 0, 0, 1])
    assert torch.bincount(_labels_like(y, 2.0, seed=0)).tolist() == [6, 2]
    assert len(_labels_like(y, 0.5, seed=0)) == 2 and len(_labels_like(y, 2.5, seed=0)) == 10


def test_per_class_rows_are_fixed_and_the_rest_is_held_out():
    labels = np.repeat(np.arange(3), 20)
    keep = training_rows(labels, per_class=5)
    assert np.bincount(labels[keep]).tolist() == [5, 5, 5]
    assert np.array_equal(keep, training_rows(labels, per_class=5))  # the same rows for every run
    rest = held_out_rows(labels, per_class=5)
    assert len(rest) == 45 and not set(rest) & set(keep)
    with pytest.raises(DataError, match="class 0 has only 20"):
        training_rows(labels, per_class=21)


def test_a_subset_seed_draws_another_fixed_subset():
    labels = np.repeat(np.arange(3), 20)
    first, second = training_rows(labels, per_class=5), training_rows(labels, per_class=5, subset_seed=1)
    assert np.bincount(labels[second]).tolist() == [5, 5, 5] and not np.array_equal(first, second)
    assert np.array_equal(second, training_rows(labels, per_class=5, subset_seed=1))  # fixed for that seed
    assert not set(held_out_rows(labels, per_class=5, subset_seed=1)) & set(second)


def test_augment_tests_on_what_the_runs_own_subset_left_out():
    config = load_config("dcgan", ["data=mnist", "data.per_class=10", "data.subset_seed=2",
                                   "conditioning.mode=concat"])
    (x, _), (x_test, _) = real_rows(config)
    (x_default, _), _ = real_rows(load_config("dcgan", ["data=mnist", "data.per_class=10",
                                                         "conditioning.mode=concat"]))
    assert not torch.equal(x, x_default)
    seen = {row.tobytes() for row in x.numpy()}
    assert not any(row.tobytes() in seen for row in x_test.numpy())


def test_a_subset_seed_without_a_subset_is_refused():
    with pytest.raises(ConfigError, match="neither is set"):
        load_config("dcgan", ["data=mnist", "data.subset_seed=1"])
    with pytest.raises(ConfigError, match="2D toy with endless samples"):
        load_config("wgan-gp", ["data=8gaussians", "data.subset_seed=1"])
    with pytest.raises(ConfigError, match="data=stacked-mnist draws its triples from every digit"):
        load_config("dcgan", ["data=stacked-mnist", "data.per_class=10"])


def test_the_embedded_digits_hold_out_what_training_left_out():
    config = load_config("dcgan", ["data=mnist", "data.per_class=10", "conditioning.mode=concat"])
    (x, y), (x_test, y_test) = real_rows(config)
    assert len(set(y_test.tolist())) == 10
    assert x.shape == (100, 1, 28, 28) and torch.bincount(y).tolist() == [10] * 10
    assert len(x_test) == 2000 and x.min() >= -1 and x.max() <= 1
    seen = {row.tobytes() for row in x.numpy()}
    assert not any(row.tobytes() in seen for row in x_test.numpy())


def test_the_cnn_recipe_fits_28_and_32_pixels():
    for shape in ((1, 28, 28), (3, 32, 32)):
        assert build_classifier(Recipe("cnn"), shape, 10)(torch.zeros(2, *shape)).shape == (2, 10)


def test_augment_refuses_an_unconditional_run_in_one_line(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "wgan-gp", "data=8gaussians", "steps=2", "eval_every=0", "--run-dir", str(run),
                 "--quiet"]) == 0
    capsys.readouterr()
    assert main(["augment", str(run)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs a conditional run" in err[0]
    assert main(["augment", str(run), "--ratios", "1,x"]) == 2
    capsys.readouterr()
    # a preset to train is checked before it trains: no minutes spent on a run that cannot be scored
    for args, says in ((["wgan-gp", "data=8gaussians"], "needs a conditional run"),
                       (["wgan-gp", "data=mnist", "conditioning.mode=projection"], "none is left to test on"),
                       ([str(tmp_path / "typo")], "no run directory at"),
                       ([str(run), "steps=3"], "is a run directory")):
        assert main(["augment", *args, "--run-dir", str(tmp_path / "new")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], args
        assert not (tmp_path / "new").exists()


def test_augment_command_trains_a_preset_then_scores_it(tmp_path, capsys):
    table = two_blobs(tmp_path / "t.csv", n=200)
    run = tmp_path / "run"
    assert main(["augment", "wgan-gp", f"data=table:{table}", "data.label=kind", "conditioning.mode=channels",
                 "steps=150", "eval_every=0", "model.width=64", "threads=1", "--run-dir", str(run), "--quiet",
                 "--seeds", "2", "--ratios", "1,2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(run / "augment") and "GAN" not in printed[0]
    assert any("real+generated x2" in line for line in printed)
    result = json.loads((run / "augment" / "augment.json").read_text())
    assert result["step"] == 150 and result["train_rows"] == 160 and result["test_rows"] == 40
    assert result["seeds"] == 2 and result["summary"]["real"]["mean"] > 0.9  # the two kinds are far apart
    assert (run / "augment" / "augment.png").stat().st_size > 10_000


def test_held_out_images_come_from_a_real_test_split_only_where_there_is_one():
    from wganlab.data.sources import has_test_split

    def data(*overrides):
        return load_config("dcgan", list(overrides)).data

    assert not has_test_split(data("data=mnist"))  # the embedded digits: test on what training left out
    assert not has_test_split(data("data=folder:/x"))  # a folder's split is ignored: it would test on training
    assert has_test_split(data("data=mnist:/x")) and has_test_split(data("data=fashion-mnist"))
    assert has_test_split(data("data=cifar10")) and has_test_split(data("data=celeba"))
