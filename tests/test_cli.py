"""The command line as a user meets it: exit codes, one-line errors, train -> sample, Ctrl-C and resume."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.conftest import run_cli
from tests.data.test_idx import write_idx

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


def test_presets_lists_one_line_each():
    result = run_cli("presets")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"gan", "dcgan", "wgan-wc", "wgan-gp", "wgan-sn", "seed000-gp"} <= set(names)


def test_unknown_preset(tmp_path):
    assert_one_line_error(run_cli("train", "wgan-pg", cwd=tmp_path), "did you mean 'wgan-gp'")


def test_unknown_key(tmp_path):
    assert_one_line_error(run_cli("train", "wgan-gp", "lipschitz.gradient_penlty.weight=1", cwd=tmp_path),
                          "did you mean 'gradient_penalty'")


def test_negative_clip(tmp_path):
    assert_one_line_error(run_cli("train", "wgan-wc", "lipschitz.clip=-0.01", cwd=tmp_path), "lipschitz.clip")


def test_missing_data_path(tmp_path):
    assert_one_line_error(run_cli("train", "dcgan", f"data=idx:{tmp_path / 'missing'}", cwd=tmp_path),
                          "does not exist")


def test_truncated_idx_file(tmp_path):
    images = np.zeros((10, 28, 28), np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte", images, False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10, np.uint8), False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    assert_one_line_error(run_cli("train", "dcgan", f"data=idx:{tmp_path}", cwd=tmp_path), "truncated")


def test_unknown_option_and_bad_sample_target(tmp_path):
    assert_one_line_error(run_cli("train", "gan", "--bogus", cwd=tmp_path), "unrecognized arguments")
    assert_one_line_error(run_cli("sample", str(tmp_path / "nope"), "--out", "x.npz", cwd=tmp_path),
                          "does not exist")


def test_resume_of_a_non_run(tmp_path):
    assert_one_line_error(run_cli("train", "--resume", str(tmp_path), cwd=tmp_path), "not a wganlab run")


def test_train_then_sample_toy(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train", "wgan-gp", "data=8gaussians", "steps=20", *TINY, "--run-dir", str(run_dir),
                     "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(run_dir)
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run_cli("sample", str(run_dir), "--n", "100", "--seed", "5", "--out", str(a)).returncode == 0
    assert run_cli("sample", str(run_dir), "--n", "100", "--seed", "5", "--out", str(b)).returncode == 0
    points = np.load(a)["points"]
    assert points.shape == (100, 2) and points.dtype == np.float32
    assert np.array_equal(points, np.load(b)["points"])
    assert run_cli("sample", str(run_dir), "--n", "200", "--out", str(tmp_path / "s.png")).returncode == 0
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_train_then_sample_mnist_images(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("train", "dcgan", "steps=3", "model.width=4", "batch_size=8", "--run-dir", str(run_dir),
                     "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "x.npz"
    assert run_cli("sample", str(run_dir), "--n", "10", "--out", str(out)).returncode == 0
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
    result = run_cli("train", "--resume", str(run_dir), f"steps={stopped_at + 5}", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "checkpoints" / f"step_{stopped_at + 5:08d}.pt").is_file()


def test_resume_refuses_changes_other_than_steps(tmp_path):
    run_dir = tmp_path / "run"
    assert run_cli("train", "gan", "data=8gaussians", "steps=2", *TINY, "--run-dir", str(run_dir),
                   "--quiet").returncode == 0
    assert_one_line_error(run_cli("train", "--resume", str(run_dir), "seed=3"), "only steps=N")


@pytest.mark.parametrize("argv", [["train"], ["train", "steps=3"]])
def test_train_without_preset(argv, tmp_path):
    assert run_cli(*argv, cwd=tmp_path).returncode == 2


def test_run_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_line_error(run_cli("train", "gan", "data=8gaussians", "--run-dir", str(blocker / "run"),
                                  cwd=tmp_path), "Not a directory")


def test_sample_a_class_of_a_conditional_run(tmp_path):
    from tests.conftest import tiny_mnist
    from wganlab.train import start_run

    run = tmp_path / "cond"
    start_run(tiny_mnist("steps=2", "conditioning.mode=concat", preset="dcgan"), run, tensorboard=False).run(
        progress=False)
    done = run_cli("sample", str(run), "--class", "3", "--n", "4", "--out", str(tmp_path / "three.npz"))
    assert done.returncode == 0, done.stderr
    grid = run_cli("sample", str(run), "--n", "20", "--out", str(tmp_path / "grid.png"))
    assert grid.returncode == 0 and (tmp_path / "grid.png").is_file()
    from PIL import Image

    width, height = Image.open(tmp_path / "grid.png").size
    assert height > width  # 10 rows (one per class) of 2
    bad = run_cli("sample", str(run), "--class", "10", "--n", "4", "--out", str(tmp_path / "x.npz"))
    assert bad.returncode == 2 and "--class must lie in [0, 9]" in bad.stderr and "Traceback" not in bad.stderr
