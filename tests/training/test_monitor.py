"""The monitor: named statistics averaged on the device, a lazy term over the steps that reported it, the first
non-finite one named, its state round-trips."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_toy
from wganlab.training.distributed import from_environment
from wganlab.training.monitor import Monitor, TrainingDiverged


def monitor(tmp_path) -> Monitor:
    return Monitor(tiny_toy(), tmp_path, torch.device("cpu"), from_environment(), is_vectors=True)


def t(value: float) -> torch.Tensor:
    return torch.tensor(value)


def test_a_lazy_term_is_averaged_over_the_steps_that_reported_it(tmp_path):
    watch = monitor(tmp_path)
    watch.add(0, {"d_loss": t(1.0), "r1": t(6.0)})
    watch.add(1, {"d_loss": t(3.0)})
    watch.add(2, {"d_loss": t(5.0), "r1": t(2.0)})
    assert watch.averages() == {"d_loss": 3.0, "r1": 4.0}
    watch.add(3, {"d_loss": t(1.0)})
    assert watch.averages() == {"d_loss": 1.0}  # r1 not due in this window: left out, not logged as 0
    watch.add(4, {"d_loss": t(1.0), "drift": t(0.5)})  # a term that appears later joins
    assert watch.averages() == {"d_loss": 1.0, "drift": 0.5}


def test_the_first_non_finite_statistic_is_named_with_its_step(tmp_path):
    watch = monitor(tmp_path)
    watch.add(0, {"d_loss": t(1.0), "r1": t(1.0)})
    watch.add(1, {"d_loss": t(1.0)})  # r1 absent: its zero placeholder is no NaN
    watch.check_finite(2)
    watch.add(2, {"d_loss": t(1.0), "r1": t(float("nan"))})
    watch.add(3, {"d_loss": t(float("inf"))})
    with pytest.raises(TrainingDiverged, match="r1 became NaN or infinite at step 3"):
        watch.check_finite(4)


def test_the_state_round_trips_mid_window(tmp_path):
    watch = monitor(tmp_path)
    watch.add(0, {"d_loss": t(2.0), "r1": t(4.0)})
    watch.add(1, {"d_loss": t(4.0)})
    restored = monitor(tmp_path)
    restored.load_state_dict(watch.state_dict())
    restored.add(2, {"d_loss": t(6.0), "r1": t(8.0)})
    assert restored.averages() == {"d_loss": 4.0, "r1": 6.0}
