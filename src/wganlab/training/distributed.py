"""Data-parallel training across processes started by ``torchrun`` (one process per GPU, or per CPU share).

wganlab does not wrap the networks in ``DistributedDataParallel``: DDP's reducer fires on ``backward`` and is
not built for the gradient penalty's ``autograd.grad(create_graph=True)`` nor for the critic and generator
taking turns. Instead each optimizer step averages the gradients explicitly (one flat all-reduce per network),
which is what DDP computes, at the same points for every GAN variant.

Every random draw of a step (real batch, latents, labels, interpolation weights, label flips) is made for the
*global* batch from one stream that all processes share, and each process keeps its own slice. So no two
processes see the same noise, and N processes train the same run that one process trains with the same global
batch (up to float summation order) — a run's result does not depend on how many processes trained it.
Batch norm is the exception: each process normalises its own shard unless ``sync_batch_norm`` is set (GPU), and
rank 0's running statistics are the ones its samples, evaluations and checkpoints use (a resumed run gives them to
every process). Everything else — weights, optimizer states, spectral norm's vectors, EMA weights — stays identical
on every process by construction, so nothing is broadcast during training.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from wganlab.errors import ConfigError

T = TypeVar("T")


class Distributed:
    """This process's place in the group: ``rank`` of ``world`` (``world == 1``: a plain single process)."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0) -> None:
        self.rank, self.world, self.local_rank = rank, world, local_rank

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the run directory: logs, samples, checkpoints, evaluations."""
        return self.rank == 0

    def device(self, requested: torch.device) -> torch.device:
        """One GPU per process (the local rank's); CPU processes share the host."""
        if self.enabled and requested.type == "cuda":
            return torch.device("cuda", self.local_rank)
        return requested

    def local_batch(self, global_batch: int) -> int:
        if global_batch % self.world:
            raise ConfigError(f"batch_size={global_batch} does not split evenly over {self.world} processes; "
                              f"use a multiple of {self.world}")
        return global_batch // self.world

    def shard(self, local_n: int, draw: Callable[[int], T]) -> T:
        """``draw`` for the global batch (``local_n`` x world rows) and keep this process's rows.

        ``draw(n)`` returns a tensor or a tuple of tensors (or None) whose first dimension is ``n``.
        """
        if not self.enabled:
            return draw(local_n)
        start = self.rank * local_n
        return _slice(draw(local_n * self.world), start, start + local_n)

    def average_gradients(self, params: Sequence[torch.nn.Parameter]) -> None:
        """Replace every gradient by its mean over the processes: one all-reduce of a flat buffer."""
        if not self.enabled:
            return
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat /= self.world
        for grad, averaged in zip(grads, _unflatten_dense_tensors(flat, grads), strict=True):
            grad.copy_(averaged)

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The element-wise mean of ``tensor`` over the processes (a copy)."""
        if not self.enabled:
            return tensor
        out = tensor.detach().clone()
        dist.all_reduce(out)
        return out / self.world

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether any process raised ``flag`` — so that all of them stop at the same step."""
        if not self.enabled:
            return flag
        value = torch.tensor([1 if flag else 0], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def broadcast_object(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (a run directory, an error message)."""
        if not self.enabled:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()


class ShardedSource:
    """A data source whose batches are this process's slice of the global batch the shared stream draws."""

    def __init__(self, source: Any, group: Distributed) -> None:
        self.source, self.group = source, group

    def sample(self, batch_size: int) -> torch.Tensor:
        return self.group.shard(batch_size, self.source.sample)

    def sample_with_labels(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.group.shard(batch_size, self.source.sample_with_labels)

    def __getattr__(self, name: str) -> Any:  # shape, is_vectors, images, state_dict, ...: the source's own
        return getattr(self.source, name)


_GROUP: Distributed | None = None


def from_environment() -> Distributed:
    """The process group ``torchrun`` describes in the environment, joined once per process.

    Without ``WORLD_SIZE`` (or with 1) this is a single process and nothing is initialised.
    """
    global _GROUP
    if _GROUP is not None:
        return _GROUP
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        _GROUP = Distributed()
        return _GROUP
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_nccl = torch.cuda.is_available() and dist.is_nccl_available()
        if use_nccl:
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if use_nccl else "gloo", timeout=timedelta(minutes=30))
    _GROUP = Distributed(dist.get_rank(), dist.get_world_size(), local_rank)
    return _GROUP


def shutdown() -> None:
    """Leave the process group (at the end of a torchrun job)."""
    global _GROUP
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _GROUP = None


def _slice(value: Any, start: int, stop: int) -> Any:
    if value is None:
        return None
    if isinstance(value, tuple):
        return tuple(_slice(v, start, stop) for v in value)
    return value[start:stop]
