"""Every random stream survives a checkpoint: captured, saved with weights_only, restored, drawn identically."""

from __future__ import annotations

import io
import random

import numpy as np
import torch

from wganlab.rundir import rng_state as rng


def _draws() -> tuple[float, float, float, float]:
    return random.random(), float(np.random.rand()), float(np.random.randn()), float(torch.rand(1))


def test_capture_then_restore_replays_python_numpy_and_torch_draws():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # leaves a cached Gaussian in NumPy's state: it must survive too
    state = rng.capture(torch.device("cpu"))
    buffer = io.BytesIO()
    torch.save(state, buffer)  # as a checkpoint stores it
    expected = [_draws() for _ in range(3)]
    buffer.seek(0)
    rng.restore(torch.load(buffer, weights_only=True), torch.device("cpu"))
    assert [_draws() for _ in range(3)] == expected


def test_a_cpu_state_restored_on_the_cpu_needs_no_cuda():
    state = rng.capture(torch.device("cpu"))
    assert state["training_device"] is None
    rng.restore(state, torch.device("cpu"))  # no CUDA anywhere: nothing to map
