"""The Python API a notebook uses: train, open, sample, evaluate, resume — the CLI's behaviour as objects."""

from __future__ import annotations

import pytest
import torch

import wganlab
from wganlab.errors import CheckpointError, ConfigError

TINY = ("data=8gaussians", "model.width=16", "model.mlp_depth=2", "batch_size=32", "log_every=10",
        "checkpoint_every=10", "sample_every=1000", "eval_every=0")


def test_train_sample_evaluate_and_resume_from_python(tmp_path):
    run = wganlab.train("wgan-gp", *TINY, "steps=20", run_dir=tmp_path / "run", progress=False)
    assert (run.step, run.finished, run.config.objective) == (20, True, "wasserstein")
    assert [r["step"] for r in run.metrics()] == [10, 20]
    points = run.sample(300, seed=4)
    assert points.shape == (300, 2) and torch.equal(points, wganlab.sample(tmp_path / "run", 300, seed=4))
    scores = run.evaluate(n=300, metrics=("modes", "w1"))
    assert 0 <= scores["modes_covered"] <= 8 and scores["w1"] > 0
    with pytest.raises(ConfigError, match="ask for 'w1'"):
        wganlab.evaluate(tmp_path / "run", n=100, metrics=("modes",), data="swissroll")
    with pytest.raises(ConfigError, match="no metric asked for"):
        wganlab.evaluate(tmp_path / "run", n=100, metrics=())
    again = wganlab.open_run(tmp_path / "run").resume(steps=30, log_every=5, progress=False)
    assert again.step == 30 and [r["step"] for r in again.metrics()] == [10, 20, 25, 30]
    assert again.events()[-1]["changed"] == {"steps": [20, 30], "log_every": [10, 5]}
    assert [c["step"] for c in again.checkpoints()] == [10, 20, 30] and all(c["ok"] for c in again.checkpoints())


def test_open_run_refuses_what_is_not_a_run(tmp_path):
    with pytest.raises(CheckpointError, match="is not a wganlab run directory"):
        wganlab.open_run(tmp_path)


def test_a_conditional_run_samples_the_class_asked_for(tmp_path):
    run = wganlab.train("dcgan", "data=mnist", "model.width=4", "batch_size=8", "steps=2", "log_every=1",
                        "conditioning.mode=concat", "sample_every=1000", "eval_every=0",
                        run_dir=tmp_path / "c", progress=False)
    assert run.sample(5, label=3).shape == (5, 1, 28, 28)
    with pytest.raises(wganlab.WganlabError, match="--class must lie in"):
        run.sample(5, label=12)


def test_evaluate_takes_the_feature_network_and_data_options_as_eval_does(tmp_path):
    run = wganlab.train("dcgan", "data=mnist", "model.width=4", "batch_size=8", "steps=2", "eval_every=0",
                        run_dir=tmp_path / "run", progress=False)
    scores = run.evaluate(n=200, metrics=("fid",), features="fashion-mnist", data_options=("data.limit=500",))
    assert scores["features"] == "fashion-mnist" and scores["fid"] > 0
    default = run.evaluate(n=200, metrics=("fid",), data_options=("data.limit=500",))
    assert default["features"] == "mnist"  # the default for 28x28 digits
    with pytest.raises(ConfigError, match="'limit=5' is not a data option"):
        run.evaluate(n=10, data_options=("limit=5",))


def test_evaluate_checks_the_data_and_the_metrics_before_it_samples(tmp_path, monkeypatch):
    import wganlab.sampling

    run = wganlab.train("wgan-gp", *TINY, "steps=2", run_dir=tmp_path / "run", progress=False)
    monkeypatch.setattr(wganlab.sampling, "generate", lambda *a, **k: pytest.fail("sampled before checking"))
    with pytest.raises(ConfigError, match="unknown metric 'w2'"):
        run.evaluate(n=10_000, metrics=("w2",))
    with pytest.raises(ConfigError, match=r"data\.lable"):
        run.evaluate(n=10_000, data_options=("data.lable=x",))
