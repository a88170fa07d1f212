"""The machine a result came from (wganlab.machine)."""

from __future__ import annotations

import json
import platform

import torch

from tests.conftest import tiny_toy
from wganlab.machine import cpu_model, describe_machine
from wganlab.training.start import start_run


def test_a_cpu_machine_says_its_model_instruction_set_threads_and_versions():
    info = describe_machine("cpu")
    assert info["torch"] == torch.__version__ and info["python"] == platform.python_version()
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert info["threads"] == torch.get_num_threads() and info["cpu"] == cpu_model() != ""
    assert "gpu" not in info  # a CPU run says nothing of a GPU, even where one is present


def test_the_cpu_model_falls_back_to_what_python_knows(monkeypatch):
    monkeypatch.setattr("wganlab.machine.Path.read_text", lambda self: "processor\t: 0\nflags\t\t: fpu\n")
    assert cpu_model() == (platform.processor() or platform.machine())


def test_a_run_records_the_machine_that_started_it(tmp_path):
    start_run(tiny_toy("steps=1"), tmp_path / "run", tensorboard=False)
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["machine"]
    assert recorded["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert recorded["cpu"] == cpu_model() and recorded["torch"] == torch.__version__
