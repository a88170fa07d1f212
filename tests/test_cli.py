"""The command line as a user meets it: exit codes, one-line errors, train -> sample, Ctrl-C and resume."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import cli, run_cli
from tests.data.test_idx import write_idx
from wganlab.rundir.layout import read_events

TINY = ["model.width=16", "model.mlp_depth=2", "batch_size=32", "log_every=10"]


def assert_one_line_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("wganlab: error:") and fragment in lines[0], lines[0]


def test_plain_wganlab_prints_help():
    result = run_cli()
    assert result.returncode == 0 and "train" in result.stdout and "sample" in result.stdout


def test_presets_lists_one_line_each_grouped_with_where_to_start_first():
    from wganlab.config import available_presets

    result = cli("presets")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("# Start here") and lines[1].split()[0] == "gan"
    names = [line.split()[0] for line in lines if line and not line.startswith("#")]
    assert sorted(names) == sorted(available_presets())  # every preset once
    assert names.index("dtu-wgan-gp") > names.index("wgan-sn")


def test_a_listing_read_only_in_part_ends_quietly():
    """`wganlab presets | head -3`: the reader closes the pipe early; before, 'wganlab: error: Broken pipe'."""
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-m", "wganlab", "presets"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # gone before the listing is written, as a reader that stopped early
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0 and stderr == ""


def test_parts_lists_every_registered_name_with_its_source():
    from wganlab.registry import REGISTRIES

    result = cli("parts")
    assert result.returncode == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    assert listed == {part.name for registry in REGISTRIES for part in registry}
    assert "gradient-penalty      Gulrajani et al. 2017, eq. 3" in result.stdout
    assert "w1" in cli("eval", "--help").stdout  # the metrics' help comes from the registry too


def test_unknown_preset(tmp_path):
    assert_one_line_error(cli("train", "wgan-pg", cwd=tmp_path), "did you mean 'wgan-gp'")


def test_unknown_key(tmp_path):
    assert_one_line_error(cli("train", "wgan-gp", "lipschitz.gradient_penlty.weight=1", cwd=tmp_path),
                          "did you mean 'gradient_penalty'")


def test_negative_clip(tmp_path):
    assert_one_line_error(cli("train", "wgan-wc", "lipschitz.clip=-0.01", cwd=tmp_path), "lipschitz.clip")


def test_missing_data_path(tmp_path):
    assert_one_line_error(cli("train", "dcgan", f"data=idx:{tmp_path / 'missing'}", cwd=tmp_path),
                          "does not exist")


def test_truncated_idx_file(tmp_path):
    images = np.zeros((10, 28, 28), np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10, np.uint8), False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    assert_one_line_error(cli("train", "dcgan", f"data=idx:{tmp_path}", cwd=tmp_path), "truncated")


def test_unknown_option_and_bad_sample_target(tmp_path):
    assert_one_line_error(cli("train", "gan", "--bogus", cwd=tmp_path), "unrecognized arguments")
    assert_one_line_error(cli("sample", str(tmp_path / "nope"), "--out", "x.npz", cwd=tmp_path),
                          "does not exist")


def test_resume_of_a_non_run(tmp_path):
    assert_one_line_error(cli("train", "--resume", str(tmp_path), cwd=tmp_path), "not a wganlab run")


def test_train_then_sample_toy(tmp_path):
    run_dir = tmp_path / "run"
    result = cli("train", "wgan-gp", "data=8gaussians", "steps=20", *TINY, "--run-dir", str(run_dir),
                     "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(run_dir)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert cli("sample", str(run_dir), "--n", "100", "--seed", "5", "--out", str(a)).returncode == 0
    assert cli("sample", str(run_dir), "--n", "100", "--seed", "5", "--out", str(b)).returncode == 0
    points = np.load(a)["points"]
    assert points.shape == (100, 2) and points.dtype == np.float32
    assert np.array_equal(points, np.load(b)["points"])
    assert cli("sample", str(run_dir), "--n", "200", "--out", str(tmp_path / "s.png")).returncode == 0
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_train_then_sample_mnist_images(tmp_path):
    run_dir = tmp_path / "run"
    result = cli("train", "dcgan", "steps=3", "model.width=4", "batch_size=8", "--run-dir", str(run_dir),
                     "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "x.npz"
    assert cli("sample", str(run_dir), "--n", "10", "--out", str(out)).returncode == 0
    images = np.load(out)["images"]
    assert images.shape == (10, 1, 28, 28) and images.dtype == np.uint8


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_writes_checkpoint_exits_zero_and_resumes(tmp_path, signum):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "wganlab", "train", "wgan-gp", "data=8gaussians", "steps=100000", *TINY,
               "--run-dir", str(run_dir), "--quiet"]
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (run_dir / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "wganlab train --resume" in err and "Traceback" not in err
    checkpoints = sorted((run_dir / "checkpoints").glob("step_*.pt"))
    assert checkpoints
    stopped_at = int(checkpoints[-1].stem.split("_")[1])
    assert read_events(run_dir) == [{"step": stopped_at, "event": "stopped", "checkpoint": stopped_at,
                                     "signal": signal.Signals(signum).name}]  # the stop, in the run's history
    result = cli("train", "--resume", str(run_dir), f"steps={stopped_at + 5}", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "checkpoints" / f"step_{stopped_at + 5:08d}.pt").is_file()


@pytest.mark.parametrize("argv", [["train"], ["train", "steps=3"]])
def test_train_without_preset(argv, tmp_path):
    assert cli(*argv, cwd=tmp_path).returncode == 2


def test_run_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(cli("train", "gan", "data=8gaussians", "--run-dir", str(blocker / "run"),
                                  cwd=tmp_path), "Not a directory")


def test_sample_a_class_of_a_conditional_run(tmp_path):
    from tests.conftest import tiny_mnist
    from wganlab.training.start import start_run

    run = tmp_path / "cond"
    start_run(tiny_mnist("steps=2", "conditioning.mode=concat", preset="dcgan"), run, tensorboard=False).run(
        progress=False)
    done = cli("sample", str(run), "--class", "3", "--n", "4", "--out", str(tmp_path / "three.npz"))
    assert done.returncode == 0, done.stderr
    grid = cli("sample", str(run), "--n", "20", "--out", str(tmp_path / "grid.png"))
    assert grid.returncode == 0 and (tmp_path / "grid.png").is_file()
    from PIL import Image

    width, height = Image.open(tmp_path / "grid.png").size
    assert height > width  # 10 rows (one per class) of 2
    bad = cli("sample", str(run), "--class", "10", "--n", "4", "--out", str(tmp_path / "x.npz"))
    assert bad.returncode == 2 and "--class must lie in [0, 9]" in bad.stderr and "Traceback" not in bad.stderr


def test_a_run_in_training_refuses_a_second_writer_and_resumes_with_other_execution_settings(tmp_path):
    import json
    import os

    run_dir = tmp_path / "run"
    first = subprocess.Popen([sys.executable, "-m", "wganlab", "train", "wgan-gp", "data=8gaussians", "steps=100000",
                              *TINY, "--run-dir", str(run_dir), "--quiet"], stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 60
        while not (run_dir / "metrics.jsonl").is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        holder = f"in use by the training of this run (PID {first.pid} on "
        assert_one_line_error(cli("train", "--resume", str(run_dir)), holder)
        assert_one_line_error(cli("train", "gan", "data=8gaussians", "--run-dir", str(run_dir)), holder)
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    assert first.returncode == 0
    stopped = json.loads((run_dir / "metrics.jsonl").read_text().splitlines()[-1])["step"]
    target = stopped + 40
    assert_one_line_error(cli("train", "--resume", str(run_dir), "g_optimizer.lr=0.01"),
                          "'g_optimizer.lr' defines the algorithm")
    resumed = cli("train", "--resume", str(run_dir), f"steps={target}", "threads=1", "log_every=5", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").open()]
    assert steps == sorted(set(steps)) and steps[-1] == target  # every step logged once, in order
    resumed_at = json.loads((run_dir / "events.jsonl").read_text().splitlines()[-1])
    assert resumed_at["event"] == "resumed with other settings" and resumed_at["step"] >= stopped
    assert resumed_at["changed"] == {"steps": [100000, target], "threads": [0, 1], "log_every": [10, 5]}
    assert all(s % 10 == 0 for s in steps if s <= resumed_at["step"])
    assert [s for s in steps if s > resumed_at["step"]] == list(range(resumed_at["step"] // 5 * 5 + 5, target + 1, 5))


def test_a_study_directory_in_use_is_refused(tmp_path):
    from wganlab.rundir.lock import DirectoryLock

    study = tmp_path / "s.yaml"
    study.write_text("name: s\naxes: {variant: [gan]}\nset: {data: 8gaussians, steps: 2}\n", encoding="utf-8")
    with DirectoryLock(tmp_path / "out", "a study writing this directory"):
        assert_one_line_error(cli("study", str(study), "--out", str(tmp_path / "out")),
                              "'%s' is in use by a study writing this directory (PID " % (tmp_path / "out"))
    assert not (tmp_path / "out" / "runs").exists()


def test_check_lists_checkpoints_and_fails_when_the_newest_is_bad(tmp_path, capsys):
    import torch

    from wganlab.cli import main
    from wganlab.rundir import checkpoints as ckpt

    run_dir = tmp_path / "run"
    assert cli("train", "gan", "data=8gaussians", "steps=20", "checkpoint_every=10", *TINY, "--run-dir",
                   str(run_dir), "--quiet").returncode == 0
    assert main(["check", str(run_dir)]) == 0
    good = capsys.readouterr().out
    assert good.count("verified     finite") == 3 and "newest (step 20) is good" in good
    newest = ckpt.checkpoint_path(run_dir, 20)
    state = torch.load(newest, weights_only=True)
    first = next(iter(state["generator"]))
    state["generator"][first] = torch.full_like(state["generator"][first], float("nan"))
    ckpt.atomic_torch_save(state, newest)  # a NaN-carrying checkpoint with a valid checksum
    assert main(["check", str(run_dir)]) == 1
    nan = capsys.readouterr().out
    assert f"verified     not finite (generator.{first})" in nan and "'--resume' would use step 10" in nan
    newest.write_bytes(newest.read_bytes()[:1024])
    assert main(["check", str(run_dir)]) == 1
    torn = capsys.readouterr().out
    assert "1.0 KiB  mismatch     unreadable" in torn and "newest (step_00000020.pt) is bad" in torn
    assert main(["check", str(tmp_path)]) == 2
    assert "is not a wganlab run directory" in capsys.readouterr().err


def test_small_gaps_a_new_user_met(tmp_path, capsys):
    """Resuming to fewer steps than done, a misspelt metric, a number that is not a misspelling, a misspelt
    preset's punctuation, and the API's sample count: each one line that says what to do (in-process CLI)."""
    from wganlab.cli import main

    run_dir = tmp_path / "run"
    assert main(["train", "gan", "data=8gaussians", "steps=10", *TINY, "--run-dir", str(run_dir), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "steps=3"]) == 2
    error = capsys.readouterr().err
    assert "already at step 10, past steps=3: give steps greater than 10" in error, error
    assert main(["train", "--resume", str(run_dir), "steps=12", "--quiet"]) == 0  # the lock was released
    assert "resuming" in capsys.readouterr().err
    assert main(["eval", str(run_dir), "--metrics", "w2"]) == 2
    assert "unknown metric 'w2' (did you mean 'w1'?)" in capsys.readouterr().err
    assert main(["train", "dcgan", "data.image_size=24", "--run-dir", str(tmp_path / "x")]) == 2
    error = capsys.readouterr().err
    assert "must be one of 28, 32, 64" in error and "did you mean" not in error
    assert main(["train", "dcgan", "data.image_size=128", "--run-dir", str(tmp_path / "z")]) == 2
    assert "data.image_size=128: the DCGAN family takes 28, 32, 64 px" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()
    assert main(["train", "dcgn", "--run-dir", str(tmp_path / "y")]) == 2
    assert "unknown preset 'dcgn' (did you mean 'dcgan'?); run 'wganlab presets'" in capsys.readouterr().err

    from wganlab.errors import WganlabError
    from wganlab.sampling import generate, load_generator

    with pytest.raises(WganlabError, match=r"^n must be at least 1, got 0$"):
        generate(load_generator(run_dir), 0)


def test_a_failed_start_leaves_no_directory_and_an_interrupted_one_resumes_with_its_run_json(tmp_path, capsys):
    from wganlab.cli import main
    from wganlab.rundir.layout import RUN_INFO_FILE

    made = tmp_path / "made"
    assert main(["train", "dcgan", f"data=idx:{tmp_path / 'missing'}", "--run-dir", str(made)]) == 2
    assert not made.exists(), "a start-up failure must remove the directory it created"
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert main(["train", "dcgan", f"data=idx:{tmp_path / 'missing'}", "--run-dir", str(kept)]) == 2
    assert (kept / "notes.txt").read_text() == "mine"  # a directory it did not make is left as it was
    run_dir = tmp_path / "early"
    assert main(["train", "gan", "data=8gaussians", "steps=10", *TINY, "--run-dir", str(run_dir), "--quiet"]) == 0
    (run_dir / RUN_INFO_FILE).unlink()  # as a Ctrl-C during start-up leaves it: config, no run.json
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "steps=12", "--quiet"]) == 0
    assert (run_dir / RUN_INFO_FILE).is_file()
    assert main(["sample", str(run_dir), "--n", "4", "--out", str(tmp_path / "s.npz")]) == 0


def test_your_own_images_as_the_readme_walks_them(tmp_path, capsys, monkeypatch):
    """A folder of 28x28 greyscale PNGs and one of 64x64 RGB images: train, sample, evaluate (README, Data)."""
    from PIL import Image

    from wganlab.cli import main
    from wganlab.data.sources import embedded_mnist

    monkeypatch.setenv("WGANLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WGANLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "no-torch-home"))  # no Inception weights anywhere
    digits, _ = embedded_mnist()
    (tmp_path / "clothes").mkdir()
    for i in range(300):  # 28x28 greyscale PNGs (digits stand in for the user's clothes)
        Image.fromarray(digits[i * 33]).save(tmp_path / "clothes" / f"{i}.png")
    rng = np.random.default_rng(0)
    (tmp_path / "photos").mkdir()
    for i in range(40):
        photo = np.full((64, 64, 3), rng.integers(0, 255, 3), np.uint8)
        photo[16:48, 16:48] = rng.integers(0, 255, 3)
        Image.fromarray(photo).save(tmp_path / "photos" / f"{i}.png")
    quick = ["steps=2", "model.width=4", "batch_size=8", "log_every=1", "--quiet"]
    clothes, photos = tmp_path / "runs" / "clothes", tmp_path / "runs" / "photos"
    assert main(["train", "dcgan", f"data=folder:{tmp_path / 'clothes'}", *quick, "--run-dir", str(clothes)]) == 0
    assert json.loads((clothes / "run.json").read_text())["sample_shape"] == [1, 28, 28]
    assert main(["sample", str(clothes), "--n", "16", "--out", str(tmp_path / "clothes.png")]) == 0
    capsys.readouterr()
    assert main(["eval", str(clothes), "--features", "fashion-mnist", "--n", "300", "--metrics", "fid,kid,pr"]) == 0
    table = capsys.readouterr().out
    assert "fid" in table and "kid_unit           unscaled (not x10^3)" in table and "fashion-mnist" in table
    assert main(["eval", str(clothes), "--n", "300", "--metrics", "fid", "data.grayscale=true"]) == 0
    assert "features           mnist" in capsys.readouterr().out  # the default for 28x28 greyscale
    assert main(["train", "wgan-gp", f"data=folder:{tmp_path / 'photos'}", *quick, "--run-dir", str(photos)]) == 0
    assert json.loads((photos / "run.json").read_text())["sample_shape"] == [3, 64, 64]
    capsys.readouterr()
    assert main(["eval", str(photos), "--n", "40", "--metrics", "fid"]) == 2  # Inception, without its weights
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Inception" in error and "--features mnist or fashion-mnist" in error
    assert main(["eval", str(photos), "--n", "40", "--features", "mnist", "--metrics", "fid"]) == 2
    error = capsys.readouterr().err
    assert "reads 28x28 images with 1 channel" in error and "3 x 64 x 64" in error and error.count("\n") == 1
    assert main(["eval", str(photos), "bogus=1"]) == 2
    assert "evaluation takes data.KEY=VALUE" in capsys.readouterr().err


def test_a_longer_resume_of_a_decaying_schedule_says_what_it_does_and_does_what_was_chosen(tmp_path, capsys):
    """A toy run's learning rate decays linearly to 0 at its last step. Resumed with more steps, the schedule is
    replanned for the new end (the rate jumps from 0 back up), and one line says so and names the choices;
    lr_extend=stretch decays on from the rate reached (here 0: it stays 0), restart from the full rate."""
    from wganlab.cli import main
    from wganlab.rundir.layout import load_run_config
    from wganlab.rundir.log import read_metrics

    run_dir = tmp_path / "run"
    assert main(["train", "wgan-gp", "data=8gaussians", "steps=20", "log_every=5", "model.width=16",
                 "model.mlp_depth=2", "batch_size=32", "--run-dir", str(run_dir), "--quiet"]) == 0
    base = load_run_config(run_dir).g_optimizer.lr
    assert read_metrics(run_dir)[-1]["lr_g"] == 0.0
    capsys.readouterr()
    assert main(["train", "--resume", str(run_dir), "steps=25", "--quiet"]) == 0
    note = capsys.readouterr().err
    assert "note: steps=25 moves the end of the linear learning-rate decay (step 20): the rate goes from 0% to " \
           "20% of its base at step 20; lr_extend=stretch decays on from 0% instead" in note
    assert {r["step"]: r["lr_g"] for r in read_metrics(run_dir)}[25] == 0.0  # 20 % at 20, 0 at the new end
    assert main(["train", "--resume", str(run_dir), "steps=30", "lr_extend=stretch", "--quiet"]) == 0
    assert "note" not in capsys.readouterr().err
    assert [r["lr_g"] for r in read_metrics(run_dir) if r["step"] > 25] == [0.0]  # from 0, stays 0
    assert main(["train", "--resume", str(run_dir), "steps=40", "lr_extend=restart", "--quiet"]) == 0
    rates = {r["step"]: r["lr_g"] for r in read_metrics(run_dir) if r["step"] > 30}
    assert rates[35] == pytest.approx(base * (40 - 35) / (40 - 30)) and rates[40] == 0.0
    assert load_run_config(run_dir).lr_decay_from == (30, 1.0)
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1]["changed"]["lr_decay_from"] == [[25, 0.0], [30, 1.0]]
    assert main(["train", "--resume", str(run_dir), "steps=41", "lr_extend=later"]) == 2
    assert "lr_extend must be replan, stretch, restart" in capsys.readouterr().err
