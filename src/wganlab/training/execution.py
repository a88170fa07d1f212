"""How the networks execute — numeric precision, memory layout, compilation — kept apart from what they compute.

None of these change the algorithm: a run's config says ``precision``, ``channels_last`` and ``compile``, and
the trainer routes every network call through :class:`NetworkRunner`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
from torch import nn

from wganlab.precision import at_least_float32

# Inductor is the backend users want; tests switch to "aot_eager" to exercise the same graph capture and
# autograd tracing without spending a C++ compilation per network.
COMPILE_BACKEND = "inductor"


class NetworkRunner:
    """Calls a network the way the config asks: inside bf16 autocast, compiled, channels-last inputs."""

    def __init__(self, network: nn.Module, device: torch.device, precision: str = "fp32",
                 channels_last: bool = False, compile_mode: str = "off") -> None:
        self.network = network
        self.device = device
        self.dtype = torch.bfloat16 if precision == "bf16" else None
        self.channels_last = channels_last
        if channels_last:
            network.to(memory_format=torch.channels_last)
        self.compiled: Callable[..., torch.Tensor] = network
        if compile_mode != "off":
            options = {} if COMPILE_BACKEND != "inductor" else {"mode": None if compile_mode == "default"
                                                                 else compile_mode}
            # Static shapes: a training step calls each network on the same few batch sizes, which CUDA graphs
            # want fixed; automatic dynamic shapes also failed to lower a stacked critic's grouped convolutions
            # (wganlab.stacking) in Inductor once a second batch size appeared.
            self.compiled = torch.compile(network, backend=COMPILE_BACKEND, dynamic=False, **options)

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.dtype is None:
            yield
        else:
            with torch.autocast(self.device.type, dtype=self.dtype):
                yield

    def layout(self, x: torch.Tensor) -> torch.Tensor:
        """Images in the layout the network was converted to (a no-op for vectors and by default)."""
        if self.channels_last and x.dim() == 4:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def __call__(self, *args: torch.Tensor, eager: bool = False) -> torch.Tensor:
        """The network's output in (at least) float32. ``eager`` bypasses compilation: needed where the caller
        takes a double backward (the gradient penalty), which compiled graphs do not support."""
        return self.call(self.network if eager else self.compiled, *args)

    def call(self, method: Callable[..., torch.Tensor], *args: torch.Tensor, **kwargs: object) -> torch.Tensor:
        """Another entry point of the network (e.g. ``features``), under the same precision and layout."""
        first, *rest = args
        with self.autocast():
            out = method(self.layout(first), *rest, **kwargs)
        return at_least_float32(out)
