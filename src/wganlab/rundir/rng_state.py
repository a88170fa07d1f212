"""Every random stream a run draws from, captured into its checkpoint and restored on resume.

Python's, NumPy's and torch's CPU generators, every CUDA device's, and the stream of the device this process
trains on: under torchrun each process draws the shared stream on its own GPU, so a resumed process restores rank
0's stream onto whichever GPU it has. A run may move between devices when it resumes (see :func:`restore`).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture(device: torch.device) -> dict[str, Any]:
    """The state of every random stream, as plain tensors and numbers (loadable with ``weights_only``)."""
    np_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "training_device": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
    }


def restore(state: dict[str, Any], device: torch.device) -> None:
    """Put every stream back as :func:`capture` saw it, mapped onto ``device``."""
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["gauss"]))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if device.type != "cuda":
        return  # a GPU run continued on the CPU draws from the CPU stream it saved
    if state.get("training_device") is not None:
        torch.cuda.set_rng_state(state["training_device"], device)
    else:  # a CPU run continued on a GPU: its CUDA stream is seeded from the restored CPU stream, reproducibly
        torch.cuda.manual_seed(int(torch.randint(0, 2**62, (1,))))
