"""Nothing lost: SIGKILL at random moments, divergence handling, exported generators, fuzzed configs."""

import json
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import cli, run_cli, tiny_toy, train_logged
from wganlab.config import RunConfig, load_config
from wganlab.data.toy import eight_gaussians
from wganlab.errors import ConfigError
from wganlab.metrics.toy import mode_coverage
from wganlab.rundir.checkpoints import latest_checkpoint, list_checkpoints, load_checkpoint, network_weights
from wganlab.rundir.lock import read_holder
from wganlab.rundir.log import read_metrics
from wganlab.study.workers import worker_context
from wganlab.training.start import resume_run, start_run
from wganlab.training.trainer import TrainingDiverged

# the wgan-gp preset's toy networks and batch (width 128, batch 256, stated so that a changed preset cannot make
# the run too short for eight kills), logged and checkpointed often, every checkpoint kept; 1000 steps: ~23 s here
KILL_RUN = ["wgan-gp", "data=8gaussians", "steps=1000", "seed=11", "model.width=128", "batch_size=256",
            "log_every=10", "checkpoint_every=50", "keep_checkpoints=25", "sample_every=500", "threads=1"]


def weights_at(run_dir, step):
    """Every network's weights in the checkpoint of ``step`` (the moving average too, where the run keeps one)."""
    state = load_checkpoint(dict(list_checkpoints(run_dir))[step])
    return {f"{network}.{name}": tensor for network, weights in network_weights(state).items()
            for name, tensor in weights.items()}


def newest_step(run_dir) -> int:
    found = list_checkpoints(run_dir)
    return found[-1][0] if found else -1


@pytest.mark.slow
def test_sigkill_at_eight_random_moments_then_resume_matches_uninterrupted(tmp_path):
    straight = tmp_path / "straight"
    # the uninterrupted run trains on the second core meanwhile (threads=1: they do not slow each other down)
    uninterrupted = subprocess.Popen([sys.executable, "-m", "wganlab", "train", *KILL_RUN, "--run-dir", str(straight),
                                      "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # The killed processes start as a study's workers do (forked, on Linux, from a server that has imported torch
    # once): each is a real process running `wganlab train`, which SIGKILL ends wherever it is, without eight
    # interpreters' seconds of imports.
    processes = worker_context(gpus=0)
    killed = tmp_path / "killed"
    # A moment counts from when the process holds the run's lock (imports done: the kill may land while it loads
    # or builds) or, every other time, from its first new checkpoint (the kill lands in training or a checkpoint
    # write), so that slow start-ups on a busy machine neither turn the kills into kills during import nor leave
    # the run without progress.
    moments = random.Random(2026).sample([x / 10 for x in range(0, 10)], 8)  # 0 to 0.9 s after the start point
    for i, moment in enumerate(moments):
        started = (killed / "config.yaml").exists()
        args = ["--resume", str(killed)] if started else [*KILL_RUN, "--run-dir", str(killed)]
        newest = newest_step(killed)
        log = tmp_path / f"kill{i}.log"
        proc = processes.Process(target=train_logged, args=(["train", *args, "--quiet"], log))
        proc.start()
        deadline = time.monotonic() + 120
        while proc.is_alive() and time.monotonic() < deadline and not (
                read_holder(killed).get("pid") == proc.pid and (i % 2 == 0 or newest_step(killed) > newest)):
            time.sleep(0.02)
        time.sleep(moment)
        proc.kill()
        proc.join()
        assert proc.exitcode == -signal.SIGKILL, (moment, log.read_text()[-2000:])  # alive until the kill
        # whatever moment it died at, the newest checkpoint loads; a kill during the first checkpoint's write
        # leaves only its temporary file, no checkpoint (and the next resume starts from step 0)
        if list_checkpoints(killed):
            assert latest_checkpoint(killed) is not None
    progress = [s for s, _ in list_checkpoints(killed)]
    assert progress and progress[-1] <= 900, "the run came near its end before all eight kills: make it longer"
    # The last resume trains 100 steps past the newest checkpoint and stops there as an interruption would: a
    # difference in what the kills left (weights, optimizers' moments, the random streams of noise, data and the
    # penalty's interpolation) would show in these 100 generator and 500 critic updates, bit for bit, without
    # training the other several hundred steps a second time (the straight run's remaining steps are its own check).
    check_at = progress[-1] + 100
    kept = dict(setting.split("=") for setting in KILL_RUN if "=" in setting)
    assert int(kept["steps"]) // int(kept["checkpoint_every"]) + 1 <= int(kept["keep_checkpoints"])  # all kept
    resume_run(killed, tensorboard=False).run(stop_at=check_at, progress=False)
    assert uninterrupted.wait(timeout=300) == 0, uninterrupted.stderr.read()
    a, b = weights_at(straight, check_at), weights_at(killed, check_at)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    logged = [r["step"] for r in read_metrics(straight)]
    assert [r["step"] for r in read_metrics(killed)] == logged[:logged.index(check_at) + 1]
    # and the uninterrupted run is the end-to-end criterion: the wgan-gp preset (its own toy networks and batch,
    # checked below so that a changed preset is not tested by proxy) learns all 8 gaussians from the command line
    # in 1,000 steps (one training serves both checks)
    preset = load_config("wgan-gp", ["data=8gaussians"])
    assert (preset.model.width, preset.batch_size) == (128, 256), "KILL_RUN must train the preset's own networks"
    out = tmp_path / "samples.npz"
    assert cli("sample", str(straight), "--n", "2000", "--seed", "0", "--out", str(out)).returncode == 0
    report = mode_coverage(torch.from_numpy(np.load(out)["points"]), eight_gaussians())
    assert report.modes_covered == 8 and report.high_quality >= 0.5, report


def test_forced_nan_stops_with_message_and_intact_checkpoint(tmp_path):
    trainer = start_run(tiny_toy("steps=40", "checkpoint_every=10"), tmp_path / "r", tensorboard=False)
    trainer.run(progress=False, stop_at=10)
    with torch.no_grad():
        next(trainer.generator.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match=r"became NaN or infinite at step 11.*last checkpoint is intact"):
        trainer.run(progress=False)
    step, state = latest_checkpoint(tmp_path / "r")
    assert step == 10
    assert all(torch.isfinite(v).all() for v in state["generator"].values())


def test_rollback_lowers_learning_rate_and_finishes(tmp_path):
    config = tiny_toy("steps=40", "checkpoint_every=10", "divergence.action=rollback", "divergence.lr_factor=0.5")
    trainer = start_run(config, tmp_path / "r", tensorboard=False)
    trainer.run(progress=False, stop_at=10)
    base_lr = trainer.training.g_optimizer.param_groups[0]["lr"]
    with torch.no_grad():
        next(trainer.discriminator.parameters()).fill_(float("inf"))
    result = trainer.run(progress=False)
    assert result.step == 40 and not result.interrupted
    assert trainer.training.lr_scale == 0.5 and trainer.rollbacks == 1
    assert trainer.training.g_optimizer.param_groups[0]["lr"] < base_lr
    events = [json.loads(line) for line in (tmp_path / "r" / "events.jsonl").read_text().splitlines()]
    assert events[0]["event"] == "rollback" and events[0]["step"] == 10
    records = read_metrics(tmp_path / "r")
    assert all(np.isfinite(r["d_loss"]) for r in records)
    assert latest_checkpoint(tmp_path / "r")[1]["lr_scale"] == 0.5


def test_rollback_gives_up_after_max(tmp_path):
    config = tiny_toy("steps=40", "checkpoint_every=10", "divergence.action=rollback", "divergence.max_rollbacks=0")
    trainer = start_run(config, tmp_path / "r", tensorboard=False)
    trainer.run(progress=False, stop_at=10)
    with torch.no_grad():
        next(trainer.discriminator.parameters()).fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="gave up after 0 rollbacks"):
        trainer.run(progress=False)


def test_exported_generator_samples_in_a_fresh_directory(tmp_path):
    run_dir = tmp_path / "run"
    assert cli("train", "dcgan", "steps=3", "model.width=4", "batch_size=8", "ema=0.9", "--run-dir",
                   str(run_dir), "--quiet").returncode == 0
    exported = tmp_path / "G.safetensors"
    result = cli("export", str(run_dir), "--out", str(exported))
    assert result.returncode == 0, result.stderr
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    moved = fresh / "G.safetensors"
    exported.rename(moved)
    import shutil

    shutil.rmtree(run_dir)  # neither the run directory nor the data are needed any more
    a = run_cli("sample", "G.safetensors", "--n", "12", "--seed", "1", "--out", "a.npz", cwd=fresh)
    assert a.returncode == 0, a.stderr
    images = np.load(fresh / "a.npz")["images"]
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.uint8
    assert run_cli("sample", "G.safetensors", "--n", "12", "--seed", "1", "--out", "b.npz", cwd=fresh).returncode == 0
    assert np.array_equal(images, np.load(fresh / "b.npz")["images"])


def test_export_equals_run_directory_samples(tmp_path):
    from wganlab.sampling import export_generator, generate, load_generator

    trainer = start_run(tiny_toy("steps=5", "ema=0.5"), tmp_path / "r", tensorboard=False)
    trainer.run(progress=False)
    from_run = load_generator(tmp_path / "r")
    export_generator(from_run, tmp_path / "g.safetensors")
    from_export = load_generator(tmp_path / "g.safetensors")
    from_checkpoint = load_generator(list_checkpoints(tmp_path / "r")[-1][1])
    expected = generate(from_run, 50, seed=3)
    assert torch.equal(expected, generate(from_export, 50, seed=3))
    assert torch.equal(expected, generate(from_checkpoint, 50, seed=3))


def test_sample_refuses_unknown_files(tmp_path):
    bogus = tmp_path / "x.safetensors"
    bogus.write_bytes(b"not really")
    result = cli("sample", str(bogus), "--out", str(tmp_path / "o.npz"))
    assert result.returncode == 2 and "safetensors" in result.stderr and "Traceback" not in result.stderr


KEYS = ["steps", "seed", "batch_size", "data", "data.name", "data.root", "model.arch", "model.width",
        "model.kernel_size", "lipschitz.clip", "lipschitz.gradient_penalty.weight", "g_optimizer.betas",
        "g_optimizer", "critic_steps", "divergence.action", "ema", "model", "lipschitz"]
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
VALUES = st.one_of(TEXT, st.integers(-10**20, 10**20).map(str), st.floats(allow_nan=True).map(str),
                   st.sampled_from(["[1, 2]", "{a: 1}", "null", "true", "[", "{", ":", "- -", "&a [*a]", "1e400",
                                    "!!python/object/apply:os.system [touch /tmp/x]", "-0", ".inf"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), TEXT), VALUES), max_size=4))
def test_fuzzed_overrides_validate_or_raise_config_error(pairs):
    try:
        config = load_config("wgan-gp", [f"{k}={v}" for k, v in pairs])
    except ConfigError as err:
        assert str(err) and "\n" not in str(err)
    else:
        assert isinstance(config, RunConfig)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(TEXT, st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
                 st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT),
                              lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                                  st.sampled_from(["steps", "model", "data", "extends", "toy", "lipschitz", "x"])
                                  | TEXT, inner, max_size=3), max_leaves=12).map(lambda v: json.dumps(v))))
def test_fuzzed_config_files_validate_or_raise_config_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "config.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(str(path))
    except ConfigError as err:
        assert "\n" not in str(err)


def test_deeply_nested_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(ConfigError):
        load_config(str(path))
