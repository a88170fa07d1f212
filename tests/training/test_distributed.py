"""Data-parallel training: the sharding rules in-process, and real ``torchrun`` jobs of 2 gloo processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import cli
from wganlab.errors import ConfigError
from wganlab.rundir.layout import read_events
from wganlab.training.distributed import Distributed, ShardedSource

RUN = ["data=8gaussians", "seed=3", "batch_size=64", "eval_every=0", "sample_every=1000", "checkpoint_every=10",
       "--quiet"]
SGD = ["g_optimizer.name=sgd", "d_optimizer.name=sgd", "lr_schedule=constant"]  # resumable to more steps


def test_each_process_keeps_its_slice_of_one_global_draw() -> None:
    torch.manual_seed(0)
    whole = torch.randn(6, 3)
    parts = []
    for rank in range(3):
        torch.manual_seed(0)  # every process holds the same stream
        parts.append(Distributed(rank, 3).shard(2, lambda n: torch.randn(n, 3)))
    assert torch.equal(torch.cat(parts), whole)
    pair = Distributed(1, 2).shard(2, lambda n: (torch.arange(n), None))
    assert pair[0].tolist() == [2, 3] and pair[1] is None
    assert Distributed().shard(4, lambda n: torch.arange(n)).tolist() == [0, 1, 2, 3]


def test_sharded_source_slices_batches_and_passes_everything_else_through() -> None:
    class Source:
        shape = (2,)

        def __init__(self) -> None:
            self.drawn = 0

        def sample(self, n: int) -> torch.Tensor:
            out = torch.arange(self.drawn, self.drawn + n)
            self.drawn += n
            return out

    source = Source()
    view = ShardedSource(source, Distributed(1, 2))
    assert view.sample(3).tolist() == [3, 4, 5]
    assert view.sample(3).tolist() == [9, 10, 11]
    assert view.shape == (2,)


def test_a_global_batch_must_split_evenly() -> None:
    assert Distributed(0, 4).local_batch(64) == 16
    with pytest.raises(ConfigError, match="batch_size=63 does not split evenly over 2 processes"):
        Distributed(0, 2).local_batch(63)


def test_a_single_process_group_is_a_no_op() -> None:
    group = Distributed()
    param = torch.nn.Parameter(torch.ones(3))
    param.grad = torch.full((3,), 2.0)
    group.average_gradients([param])
    assert param.grad.tolist() == [2.0, 2.0, 2.0]
    assert group.any(True, torch.device("cpu")) and not group.any(False, torch.device("cpu"))
    assert group.is_main and not group.enabled


def test_sync_batch_norm_without_cuda_is_refused_with_the_reason(tmp_path: Path) -> None:
    from tests.conftest import tiny_mnist
    from wganlab.training.trainer import Trainer

    with pytest.raises(ConfigError, match="sync_batch_norm needs CUDA"):
        Trainer(tiny_mnist("sync_batch_norm=true", "device=cpu", preset="dcgan"), tmp_path, tensorboard=False)


def test_replay_is_refused_across_processes(tmp_path: Path) -> None:
    from tests.conftest import tiny_toy
    from wganlab.training.trainer import Trainer

    config = tiny_toy("tricks.replay.mode=pool", preset="dcgan")
    with pytest.raises(ConfigError, match=r"tricks\.replay keeps one process's past fakes"):
        Trainer(config, tmp_path, tensorboard=False, group=Distributed(0, 2))


# ------------------------------------------------------------------------------------- real torchrun jobs


ONE_THREAD = {**os.environ, "OMP_NUM_THREADS": "1"}  # the same kernels, so the same rounding, in every job


def _wganlab(processes: int) -> list[str]:
    """``python -m wganlab``, or the same under ``torchrun`` with ``processes`` workers."""
    if processes == 1:
        return [sys.executable, "-m", "wganlab"]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
            "-m", "wganlab"]


def _train(run_dir: Path, args: list[str], processes: int, resume: bool = False) -> None:
    """Under torchrun with ``processes`` workers; one process trains in this one (the same ``main``, one thread,
    without a new interpreter's seconds of imports)."""
    where = ["--resume", str(run_dir)] if resume else ["--run-dir", str(run_dir)]
    if processes == 1:
        done = cli("train", *where, *args)
    else:
        done = subprocess.run([*_wganlab(processes), "train", *where, *args], env=ONE_THREAD, capture_output=True,
                              text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def _losses(run_dir: Path) -> list[tuple[int, float, float, float]]:
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["d_loss"], r["g_loss"], r["wasserstein_estimate"]) for r in records]


def _assert_same(a: list, b: list, rtol: float) -> None:
    assert [row[0] for row in a] == [row[0] for row in b]
    for left, right in zip(a, b, strict=True):
        assert left[1:] == pytest.approx(right[1:], rel=rtol, abs=rtol), (left, right)


@pytest.mark.slow
def test_two_processes_train_the_same_run_as_one_with_the_same_global_batch(tmp_path: Path) -> None:
    """With SGD the runs agree to float rounding over 20 steps, and a run started on one process resumes on
    two. Adam divides each gradient by its own running magnitude, so it amplifies rounding differences from
    the second step on (to about 1e-3 after 5 steps, the same as any change of summation order): the preset
    itself is compared over its first steps."""
    sgd = ["wgan-gp", *RUN, *SGD, "log_every=2"]
    _train(tmp_path / "one", [*sgd, "steps=20"], processes=1)
    _train(tmp_path / "two", [*sgd, "steps=20"], processes=2)
    one, two = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(two) == 10  # rank 0 alone writes the log
    _assert_same(two, one, rtol=1e-5)
    assert list((tmp_path / "two").glob("rank*")) == [] and (tmp_path / "two" / "checkpoints").is_dir()

    _train(tmp_path / "resumed", [*sgd, "steps=10"], processes=1)
    _train(tmp_path / "resumed", ["steps=20"], processes=2, resume=True)
    _assert_same(_losses(tmp_path / "resumed"), one, rtol=1e-5)

    adam = ["wgan-gp", *RUN, "log_every=1", "steps=2"]
    _train(tmp_path / "adam-one", adam, processes=1)
    _train(tmp_path / "adam-two", adam, processes=2)
    _assert_same(_losses(tmp_path / "adam-two"), _losses(tmp_path / "adam-one"), rtol=1e-3)


@pytest.mark.slow
def test_a_batch_that_does_not_split_is_refused_on_every_process(tmp_path: Path) -> None:
    done = subprocess.run([*_wganlab(2), "train", "wgan-gp", *RUN, "batch_size=63", "steps=2",
                           "--run-dir", str(tmp_path / "run")], env=ONE_THREAD, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode != 0
    assert done.stderr.count("wganlab: error: batch_size=63 does not split evenly over 2 processes") == 2


@pytest.mark.slow
def test_ctrl_c_stops_every_process_at_the_same_step_with_a_checkpoint(tmp_path: Path) -> None:
    """The terminal's SIGINT reaches torchrun and both workers (and torchrun forwards it once more)."""
    import signal
    import time

    from wganlab.rundir.checkpoints import list_checkpoints

    run_dir = tmp_path / "run"
    job = subprocess.Popen([*_wganlab(2), "train", "wgan-gp", *RUN, "steps=1000000", "checkpoint_every=100000",
                            "log_every=20", "--run-dir", str(run_dir)], env=ONE_THREAD, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(_read_lines(run_dir / "metrics.jsonl")) < 3:
        time.sleep(0.5)
    os.killpg(job.pid, signal.SIGINT)
    _, stderr = job.communicate(timeout=120)
    assert "stopped at step" in stderr, stderr[-3000:]
    stopped_at = int(stderr.split("stopped at step ")[1].split(";")[0])
    assert list_checkpoints(run_dir)[-1][0] == stopped_at > 0
    # rank 0 writes the stop, once
    assert [(e["event"], e["checkpoint"]) for e in read_events(run_dir)] == [("stopped", stopped_at)]


def _read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.is_file() else []
