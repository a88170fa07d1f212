"""Stacked states to S ordinary ones and back: what lets every seed of a stack remain an ordinary run.

A stacked network has the parameters, buffers and names of the separate network it stacks, each with the seeds
along its first dimension (``[S, out, in]`` or ``[S*out, in, k, k]``): a stacked tensor holds exactly S times the
elements of the separate one, seed-major. So one rule splits and joins any state — networks, the generator's
moving average, optimizer moments — given the separate tensor's shape: a tensor with S times its elements is
split (or stacked); one with as many (a step count, ``num_batches_tracked``) is the same for every seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


def split_tensor(stacked: torch.Tensor, like: torch.Tensor, seeds: int, seed: int) -> torch.Tensor:
    """Seed ``seed``'s part of ``stacked``, shaped like ``like`` (a copy)."""
    if stacked.numel() == seeds * like.numel():
        return stacked.detach().reshape(seeds, *like.shape)[seed].clone()
    if stacked.numel() == like.numel():
        return stacked.detach().clone().reshape(like.shape)
    raise ValueError(f"a stacked tensor of shape {tuple(stacked.shape)} does not hold {seeds} tensors of shape "
                     f"{tuple(like.shape)}")


def join_tensors(parts: Sequence[torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    """The seeds' ``parts`` as one tensor shaped like the stacked ``like``."""
    if like.numel() == len(parts) * parts[0].numel():
        return torch.stack([part.detach() for part in parts]).reshape(like.shape).to(like.dtype)
    if like.numel() == parts[0].numel():
        return parts[0].detach().clone().reshape(like.shape).to(like.dtype)
    raise ValueError(f"{len(parts)} tensors of shape {tuple(parts[0].shape)} do not stack to {tuple(like.shape)}")


def split_state(stacked: Any, separate: Any, seeds: int, seed: int) -> Any:
    """Seed ``seed``'s state: ``stacked`` walked beside ``separate`` (a state of the same structure taken from an
    ordinary run, which gives each tensor's shape)."""
    if isinstance(stacked, torch.Tensor):
        return split_tensor(stacked, separate, seeds, seed)
    if isinstance(stacked, dict):
        return type(stacked)((key, split_state(value, separate[key], seeds, seed)) for key, value in stacked.items())
    if isinstance(stacked, (list, tuple)):
        return type(stacked)(split_state(v, s, seeds, seed) for v, s in zip(stacked, separate, strict=True))
    return stacked


def join_states(parts: Sequence[Any], stacked: Any) -> Any:
    """The seeds' states as one, shaped like the stacked state ``stacked``."""
    if isinstance(stacked, torch.Tensor):
        return join_tensors(parts, stacked)
    if isinstance(stacked, dict):
        return type(stacked)((key, join_states([part[key] for part in parts], value))
                             for key, value in stacked.items())
    if isinstance(stacked, (list, tuple)):
        return type(stacked)(join_states([part[i] for part in parts], value) for i, value in enumerate(stacked))
    return parts[0]


def split_optimizer_state(stacked: dict[str, Any], stacked_params: Sequence[torch.Tensor],
                          separate_params: Sequence[torch.Tensor], seeds: int, seed: int) -> dict[str, Any]:
    """Seed ``seed``'s optimizer state. Moments have their parameter's shape (split like it); scalars such as
    Adam's step count are shared. The optimizers wganlab uses (Adam, RMSProp, SGD) are element-wise, so the
    stacked optimizer's update of a seed's slice is the separate optimizer's update."""
    state = {}
    for index, values in stacked["state"].items():
        like, whole = separate_params[index], stacked_params[index]
        state[index] = {key: split_tensor(value, like, seeds, seed) if _moment(value, whole) else _copy(value)
                        for key, value in values.items()}
    return {"state": state, "param_groups": [dict(group) for group in stacked["param_groups"]]}


def join_optimizer_states(parts: Sequence[dict[str, Any]], stacked_params: Sequence[torch.Tensor],
                          separate_params: Sequence[torch.Tensor]) -> dict[str, Any]:
    """The seeds' optimizer states as the stacked optimizer's."""
    state = {}
    for index, values in parts[0]["state"].items():
        whole, like = stacked_params[index], separate_params[index]
        state[index] = {key: join_tensors([part["state"][index][key] for part in parts], whole)
                        if isinstance(value, torch.Tensor) and value.shape == like.shape and value.dim() > 0
                        else _copy(value) for key, value in values.items()}
    return {"state": state, "param_groups": [dict(group) for group in parts[0]["param_groups"]]}


def _moment(value: Any, param: torch.Tensor) -> bool:
    return isinstance(value, torch.Tensor) and value.shape == param.shape and value.dim() > 0


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value
