"""Generate samples from a finished (or interrupted) run without its training data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wganlab import plots
from wganlab.checkpoint import latest_checkpoint, load_checkpoint
from wganlab.config import RunConfig
from wganlab.data.images import to_uint8
from wganlab.errors import CheckpointError, WganlabError
from wganlab.nets import build_networks
from wganlab.train import load_run_config


@dataclass
class LoadedGenerator:
    generator: torch.nn.Module
    config: RunConfig
    latent_dim: int
    sample_shape: tuple[int, ...]
    step: int


def sample_shape_of(config: RunConfig, run_dir: Path) -> tuple[int, ...]:
    """The sample shape recorded by the run (so sampling needs no access to the dataset)."""
    import json

    info_path = run_dir / "run.json"
    if info_path.is_file():
        return tuple(json.loads(info_path.read_text(encoding="utf-8"))["sample_shape"])
    if config.is_toy:
        return (2,)
    raise CheckpointError(f"'{run_dir}' has no run.json recording the image shape; it was not made by wganlab")


def load_generator(run_dir: Path, device: torch.device | str = "cpu",
                   checkpoint: Path | None = None) -> LoadedGenerator:
    """The generator of a run directory's newest checkpoint; the EMA weights when the run kept them."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory '{run_dir}' does not exist; give the path 'wganlab train' printed")
    config = load_run_config(run_dir)
    shape = sample_shape_of(config, run_dir)
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, device)
    else:
        found = latest_checkpoint(run_dir, device)
        if found is None:
            raise CheckpointError(f"run directory '{run_dir}' has no checkpoint yet; train it first")
        state = found[1]
    nets = build_networks(config, shape)
    generator = nets.generator
    weights = state["generator_ema"] if state.get("generator_ema") is not None else state["generator"]
    generator.load_state_dict(weights)
    generator.to(device).eval().requires_grad_(False)
    return LoadedGenerator(generator, config, nets.latent_dim, shape, int(state["step"]))


@torch.no_grad()
def generate(loaded: LoadedGenerator, n: int, seed: int = 0, batch_size: int = 1000) -> torch.Tensor:
    """``n`` samples on the CPU; the same ``seed`` always gives the same samples, whatever ``batch_size``."""
    if n < 1:
        raise WganlabError(f"--n must be at least 1, got {n}")
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, loaded.latent_dim, generator=rng)
    device = next(loaded.generator.parameters()).device
    chunks = [loaded.generator(z[i : i + batch_size].to(device)).float().cpu() for i in range(0, n, batch_size)]
    return torch.cat(chunks)


def write_samples(samples: torch.Tensor, loaded: LoadedGenerator, out: Path) -> None:
    """``.npz`` (uint8 ``images`` N x C x H x W, or float32 ``points`` N x 2) or ``.png`` (grid or scatter)."""
    out = Path(out)
    if out.suffix not in (".npz", ".png"):
        raise WganlabError(f"--out must end in .npz or .png, got '{out.name}'")
    out.parent.mkdir(parents=True, exist_ok=True)
    toy = loaded.config.is_toy
    if out.suffix == ".npz":
        if toy:
            np.savez_compressed(out, points=samples.numpy().astype(np.float32))
        else:
            np.savez_compressed(out, images=to_uint8(samples, loaded.config.data.pixel_range).numpy())
        return
    if toy:
        image = plots.points_figure(samples.numpy(), title=f"{len(samples)} samples")
    else:
        image = plots.image_grid(to_uint8(samples, loaded.config.data.pixel_range).numpy())
    plots.save_png(image, out)
