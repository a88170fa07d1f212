"""The training loop: determinism, exact resume, and that each Lipschitz method and schedule does what it says."""

import pytest
import torch

from tests.conftest import tiny_mnist, tiny_toy
from wganlab.rundir.checkpoints import list_checkpoints
from wganlab.rundir.log import read_metrics
from wganlab.training.start import resume_run, start_run
from wganlab.training.trainer import Trainer


def weights(trainer):
    state = {f"g.{k}": v for k, v in trainer.generator.state_dict().items()}
    state.update({f"d.{k}": v for k, v in trainer.discriminator.state_dict().items()})
    return state


def assert_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def train(config, run_dir, **kwargs):
    trainer = start_run(config, run_dir, tensorboard=False)
    trainer.run(progress=False, **kwargs)
    return trainer


@pytest.mark.parametrize("make", [tiny_toy, tiny_mnist])
def test_same_seed_same_weights(tmp_path, make):
    config = make("steps=12", "seed=3")
    a = train(config, tmp_path / "a")
    b = train(config, tmp_path / "b")
    assert_identical(weights(a), weights(b))
    c = train(make("steps=12", "seed=4"), tmp_path / "c")
    assert not torch.equal(a.generator.state_dict()["0.weight"], c.generator.state_dict()["0.weight"])


@pytest.mark.parametrize("preset", ["wgan-gp", "wgan-wc", "dcgan", "wgan-sn"])
def test_stop_at_100_and_resume_to_200_is_exact(tmp_path, preset):
    overrides = ["steps=200", "ema=0.9", "critic_steps=2", "lr_schedule=linear"]
    straight = train(tiny_toy(*overrides, preset=preset), tmp_path / "straight")
    stopped = train(tiny_toy(*overrides, preset=preset), tmp_path / "stopped", stop_at=100)
    assert stopped.step == 100 and list_checkpoints(tmp_path / "stopped")[-1][0] == 100
    resumed = resume_run(tmp_path / "stopped", tensorboard=False)
    assert resumed.step == 100
    resumed.run(progress=False)
    assert resumed.step == 200
    assert_identical(weights(straight), weights(resumed))
    assert_identical(straight.sampling_generator().state_dict(), resumed.sampling_generator().state_dict())
    assert straight.sampling_generator() is not straight.generator  # ema=0.9: the moving average
    straight_log = [r["d_loss"] for r in read_metrics(tmp_path / "straight")]
    resumed_log = [r["d_loss"] for r in read_metrics(tmp_path / "stopped")]
    assert straight_log == resumed_log


def test_resume_exact_on_images_with_batch_norm(tmp_path):
    overrides = ["steps=10", "log_every=5"]
    straight = train(tiny_mnist(*overrides, preset="dcgan"), tmp_path / "straight")
    train(tiny_mnist(*overrides, preset="dcgan"), tmp_path / "stopped", stop_at=4)
    resumed = resume_run(tmp_path / "stopped", tensorboard=False)
    resumed.run(progress=False)
    assert_identical(weights(straight), weights(resumed))


def test_clipped_critic_stays_in_box(tmp_path):
    config = tiny_toy("steps=3", "lipschitz.clip=0.01", preset="wgan-wc")
    trainer = start_run(config, tmp_path / "r", tensorboard=False)
    real = trainer.data.sample(trainer.training.batch_size)
    trainer.training.critic_update(real)
    for p in trainer.discriminator.parameters():
        assert p.abs().max().item() <= 0.01
    assert any(p.abs().max().item() == pytest.approx(0.01) for p in trainer.discriminator.parameters())


class CountingSource:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def sample(self, n):
        self.calls += 1
        return self.inner.sample(n)


def count_updates(trainer, steps):
    critic_steps, generator_steps = [], []
    training = trainer.training
    training.d_optimizer.register_step_post_hook(lambda *_: critic_steps.append(trainer.step))
    training.g_optimizer.register_step_post_hook(lambda *_: generator_steps.append(trainer.step))
    training.data = CountingSource(training.data)
    for _ in range(steps):
        trainer.train_step()
    return critic_steps, generator_steps, training.data.calls


def test_five_critic_updates_each_on_a_fresh_batch(tmp_path):
    trainer = start_run(tiny_toy("steps=10", preset="wgan-gp"), tmp_path / "r", tensorboard=False)
    critic, generator, batches = count_updates(trainer, 4)
    assert len(generator) == 4 and len(critic) == 20 and batches == 20
    assert [critic.count(s) for s in range(4)] == [5, 5, 5, 5]


def test_burst_schedule_runs_100_critic_updates(tmp_path):
    trainer = start_run(tiny_toy("steps=30", "critic_burst=true", preset="wgan-wc"), tmp_path / "r",
                        tensorboard=False)
    critic, generator, _ = count_updates(trainer, 26)
    assert [critic.count(s) for s in (0, 1, 24, 25)] == [100, 100, 100, 5]
    assert len(generator) == 26 and trainer.training.critic_updates == 25 * 100 + 5


def test_spectral_norm_keeps_sigma_one(tmp_path):
    """Every critic layer is normalized to σ = 1 once the power iteration (one step per training-mode forward,
    as Miyato et al.) has caught up with the weights: tiny nets move their weights fast relative to their size."""
    trainer = train(tiny_mnist("steps=15", preset="wgan-sn"), tmp_path / "r")
    with torch.no_grad():
        for _ in range(100):
            trainer.discriminator(trainer.data.sample(8))
    trainer.discriminator.eval()
    layers = [m for m in trainer.discriminator.modules() if hasattr(m, "parametrizations")]
    assert len(layers) == 4
    with torch.no_grad():
        for layer in layers:
            sigma = torch.linalg.matrix_norm(layer.weight.flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.02)


def test_gradient_penalty_with_batch_norm_critic_runs_separately(tmp_path):
    trainer = train(tiny_mnist("steps=3", preset="dtu-wgan-gp"), tmp_path / "r")
    assert not trainer.training.joint_critic_pass
    record = read_metrics(tmp_path / "r")[-1]
    assert record["gradient_penalty"] > 0


def test_metrics_logged_every_n_steps(tmp_path):
    train(tiny_toy("steps=30", "log_every=10"), tmp_path / "r")
    records = read_metrics(tmp_path / "r")
    assert [r["step"] for r in records] == [10, 20, 30]
    for key in ("d_loss", "g_loss", "wasserstein_estimate", "gradient_penalty", "d_grad_norm", "g_grad_norm"):
        assert all(isinstance(r[key], float) for r in records), key
    assert records[-1]["gradient_penalty"] > 0 and records[-1]["critic_updates"] == 30 * 5


def test_run_directory_contents(tmp_path):
    config = tiny_mnist("steps=6", "sample_every=3", "checkpoint_every=3", "keep_checkpoints=1", "log_every=3")
    trainer = start_run(config, tmp_path / "r")
    trainer.run(progress=False)
    run = tmp_path / "r"
    assert (run / "config.yaml").is_file() and (run / "run.json").is_file()
    assert sorted(p.name for p in (run / "samples").glob("step_*.png")) == ["step_00000003.png",
                                                                           "step_00000006.png"]
    assert (run / "samples" / "progress.gif").is_file() and (run / "loss_curves.png").is_file()
    assert [s for s, _ in list_checkpoints(run)] == [6]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))


def test_start_run_refuses_existing_run(tmp_path):
    from wganlab.errors import CheckpointError

    train(tiny_toy("steps=2"), tmp_path / "r")
    with pytest.raises(CheckpointError, match="--resume"):
        start_run(tiny_toy("steps=2"), tmp_path / "r", tensorboard=False)


def test_nan_stops_with_a_message(tmp_path):
    from wganlab.training.trainer import TrainingDiverged

    trainer = start_run(tiny_toy("steps=20", "log_every=5"), tmp_path / "r", tensorboard=False)
    trainer.run(progress=False, stop_at=5)
    with torch.no_grad():
        next(trainer.discriminator.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="at step 6"):
        trainer.run(progress=False)
    assert [s for s, _ in list_checkpoints(tmp_path / "r")] == [0, 5]


def test_trainer_class_is_usable_directly(tmp_path):
    trainer = Trainer(tiny_toy("steps=2"), tmp_path, tensorboard=False)
    trainer.train_step()
    assert trainer.step == 1


def test_best_checkpoint_follows_the_metric(tmp_path):
    from wganlab.rundir.checkpoints import best_checkpoint_path, load_checkpoint
    from wganlab.sampling import load_generator

    train(tiny_toy("steps=60", "log_every=10", "best_metric=wasserstein_estimate"), tmp_path / "r")
    records = read_metrics(tmp_path / "r")
    best = min(records, key=lambda r: r["wasserstein_estimate"])
    state = load_checkpoint(best_checkpoint_path(tmp_path / "r"))
    assert state["step"] == best["step"] and state["best"]["value"] == pytest.approx(best["wasserstein_estimate"])
    assert load_generator(best_checkpoint_path(tmp_path / "r")).step == best["step"]
    assert all(p.name != "best.pt" for _, p in list_checkpoints(tmp_path / "r"))


def test_evaluations_land_on_the_first_log_after_each_multiple(tmp_path):
    train(tiny_toy("steps=50", "log_every=7", "eval_every=20"), tmp_path / "r")
    evaluated = [r["step"] for r in read_metrics(tmp_path / "r") if "w1" in r]
    assert evaluated == [21, 42, 50]  # past 20, past 40, and the last step


def test_evaluation_never_changes_training(tmp_path):
    quiet = train(tiny_mnist("steps=6", "eval_every=0", preset="dcgan"), tmp_path / "quiet")
    measured = train(tiny_mnist("steps=6", "eval_every=2", "log_every=2", preset="dcgan"), tmp_path / "measured")
    assert "fid" in read_metrics(tmp_path / "measured")[-1]
    assert_identical(weights(quiet), weights(measured))


def test_sample_pictures_never_change_training(tmp_path):
    rare = train(tiny_toy("steps=20", "sample_every=1000", "eval_every=0"), tmp_path / "rare")
    often = train(tiny_toy("steps=20", "sample_every=3", "eval_every=0"), tmp_path / "often")
    assert_identical(weights(rare), weights(often))
