"""Which machine computed a result: results depend on it, not only timings.

Float rounding differs between CPU instruction sets (an AVX2 host's convolutions give other FIDs than an AVX-512
host's from the same seed; the MLP toys' numbers happen to agree to every digit) and between GPU models, and hosts
of one kind differ 3x in speed. So every run directory records its machine in ``run.json``, and every benchmark
prints it beside its figures.
"""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path
from typing import Any

import torch


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it ("AMD EPYC"), else what Python knows."""
    with contextlib.suppress(OSError, StopIteration):
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    return platform.processor() or platform.machine()


def describe_machine(device: str | torch.device = "cpu") -> dict[str, Any]:
    """torch and Python versions, the CPU model and the instruction set torch's CPU kernels use (``AVX512``,
    ``AVX2``, ``DEFAULT``...), torch's threads, and on a CUDA device the GPU, its memory and the CUDA version."""
    info: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version(), "cpu": cpu_model(),
                            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                            "threads": torch.get_num_threads()}
    if torch.device(device).type == "cuda" and torch.cuda.is_available():
        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index  # plain "cuda" is the current device
        properties = torch.cuda.get_device_properties(index)
        info.update(gpu=properties.name, gpu_memory_gib=round(properties.total_memory / 2**30, 1),
                    cuda=torch.version.cuda)
    return info
