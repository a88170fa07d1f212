"""Shared fixtures: small configs that train in well under a second per step on 2 CPU cores."""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wganlab.config import load_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory):
    """Reference statistics and decoded images go to a per-session cache, never the user's."""
    os.environ.setdefault("WGANLAB_CACHE", str(tmp_path_factory.mktemp("wganlab-cache")))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests run beside each other on 2 cores: one torch thread each avoids OpenMP oversubscription."""
    torch.set_num_threads(1)


def tiny_toy(*overrides: str, preset: str = "wgan-gp"):
    """A 2D-toy config with small MLPs, for loop-level tests; its evaluations (the last step's, at least) on 200
    samples instead of 2,000: the exact W1's assignment alone took half a second a run."""
    return load_config(preset, ["data=8gaussians", "model.width=16", "model.mlp_depth=2", "batch_size=32",
                                "log_every=10", "sample_every=1000", "checkpoint_every=1000", "eval_samples=200",
                                *overrides])


def tiny_mnist(*overrides: str, preset: str = "wgan-gp"):
    """An embedded-MNIST config with a narrow DCGAN (width 4); its evaluations on 200 samples (as tiny_toy)."""
    return load_config(preset, ["data=mnist", "model.width=4", "batch_size=8", "log_every=5",
                                "sample_every=1000", "checkpoint_every=1000", "eval_samples=200", *overrides])


class SystemCallPayload:
    """Pickles to a call of os.system that creates ``marker``: what a malicious file carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m wganlab ARGS`` in a subprocess, as a user runs it: for what needs a process of its own
    (signals, locks held by another process, the entry point itself); otherwise :func:`cli` is seconds faster."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "wganlab", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)



def train_logged(args: list[str], log: Path) -> None:
    """``wganlab ARGS`` as the whole life of a process (a forked one: see the SIGKILL test), its output in ``log``
    and its exit code the command's."""
    from wganlab.cli import main

    with open(log, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = main(args)
    sys.exit(code)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``wganlab ARGS`` in this process, through the same ``main`` and its one-line error handling (without a new
    interpreter's seconds of imports): the exit code, stdout and stderr, as :func:`run_cli` returns them."""
    from wganlab.cli import main

    out, err, here, threads = io.StringIO(), io.StringIO(), Path.cwd(), torch.get_num_threads()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), torch.random.fork_rng(devices=[]):
            state = (random.getstate(), np.random.get_state())  # training seeds every generator it uses
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse's --help and usage errors, exiting as a process would
                code = exit_.code if isinstance(exit_.code, int) else 0 if exit_.code is None else 1
            finally:
                random.setstate(state[0])
                np.random.set_state(state[1])
    finally:
        os.chdir(here)
        torch.set_num_threads(threads)  # threads=N in a run's settings lasts for the process
    return subprocess.CompletedProcess(["wganlab", *args], code, out.getvalue(), err.getvalue())


def import_torch_fidelity():
    """torch-fidelity through wganlab's own import (which copes with this machine's CUDA-only torchvision),
    or a skip that says how to install it."""
    from wganlab.metrics.inception import import_torch_fidelity as load

    try:
        return load()
    except ImportError as err:
        pytest.skip(f"torch-fidelity is not installed ({err}): the inception extra")


class FakeStep:
    """A small stand-in for :class:`wganlab.training.step.TrainingStep` (the hooks' StepContext): a linear critic, a
    linear generator and fixed real data, so a hook is tested without a Trainer."""

    def __init__(self, dim: int = 3, latent: int = 2, processes: int = 1, dataset_size: int | None = None) -> None:
        torch.manual_seed(0)
        self.generator = torch.nn.Linear(latent, dim)
        self.discriminator = torch.nn.Linear(dim, 1)
        self.device = torch.device("cpu")
        self.step, self.batch_size, self.processes, self.dataset_size = 0, 4, processes, dataset_size
        self.real = torch.randn(self.batch_size, dim)
        self.extra_steps: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def critic(self, x, labels=None, eager=False):
        return self.discriminator(x)

    def per_seed(self, x):
        return x

    def critic_features(self, x, labels, layer):
        return x * 2.0  # a fixed "feature" map, so feature matching can be checked by hand

    def real_batch(self):
        return self.real, None

    def shard(self, n, draw):
        return draw(n)

    def critic_step_on_fakes(self, images, labels):
        self.extra_steps.append((images, labels))
