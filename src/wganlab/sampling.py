"""Generate samples from a run directory, one of its checkpoints, or an exported generator.

An exported generator (``wganlab export``) is a safetensors file: the weights plus, in its metadata, the JSON of
the run's config, the sample shape and the latent size. It needs neither the training data nor the run
directory, and loading it cannot run code.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wganlab import plots
from wganlab.config import RunConfig, from_tree
from wganlab.data.images import to_uint8
from wganlab.data.table import rows_in_units
from wganlab.errors import CheckpointError, ConfigError, WganlabError
from wganlab.fileio import atomic_output
from wganlab.nets.build import build_networks, generate_chunks
from wganlab.rundir.checkpoints import latest_checkpoint, load_checkpoint, sampling_weights
from wganlab.rundir.layout import CONFIG_FILE, RUN_INFO_FILE, load_run_config

EXPORT_FORMAT = "wganlab-generator/1"


@dataclass
class LoadedGenerator:
    generator: torch.nn.Module
    config: RunConfig
    latent_dim: int
    sample_shape: tuple[int, ...]
    step: int
    num_classes: int = 0  # > 0: a conditional generator, sampled per class
    table: dict | None = None  # a feature table's columns, classes and standardisation (wganlab.data.table)


def load_generator(source: Path, device: torch.device | str = "cpu") -> LoadedGenerator:
    """The generator behind ``source``: a run directory (newest checkpoint), a ``.pt`` checkpoint inside one,
    or an exported ``.safetensors`` file. A run's EMA weights are preferred when it kept them."""
    source = Path(source)
    if source.is_dir():
        config, (shape, classes, table) = load_run_config(source), _run_info(source)
        found = latest_checkpoint(source)
        if found is None:
            raise CheckpointError(f"run directory '{source}' has no checkpoint yet; train it first")
        state, step = found[1], found[0]
    elif source.suffix == ".safetensors" and source.is_file():
        return _load_export(source, device)
    elif source.suffix == ".pt" and source.is_file():
        run_dir = source.parent.parent
        if not (run_dir / CONFIG_FILE).is_file():
            raise CheckpointError(f"checkpoint '{source}' is not inside a run directory (no {run_dir / CONFIG_FILE})"
                                  "; sample the run directory or an exported generator instead")
        config, (shape, classes, table) = load_run_config(run_dir), _run_info(run_dir)
        state = load_checkpoint(source)
        step = int(state["step"])
    else:
        raise CheckpointError(f"'{source}' does not exist or is not a run directory, a .pt checkpoint or an "
                              "exported .safetensors generator")
    weights = sampling_weights(state)
    return _assemble(config, shape, weights, step, device, classes, table)


def _assemble(config: RunConfig, shape: tuple[int, ...], weights: dict, step: int,
              device: torch.device | str, num_classes: int = 0, table: dict | None = None) -> LoadedGenerator:
    nets = build_networks(config, shape, num_classes)
    try:
        nets.generator.load_state_dict(weights)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(f"the weights do not fit the generator its config describes ({first})") from None
    generator = nets.generator.to(device).eval().requires_grad_(False)
    return LoadedGenerator(generator, config, nets.latent_dim, shape, step, nets.num_classes, table)


def _run_info(run_dir: Path) -> tuple[tuple[int, ...], int, dict | None]:
    """The sample shape, class count and (for a feature table) its columns and standardisation, recorded by the
    run, so that sampling never needs the dataset."""
    path = run_dir / RUN_INFO_FILE
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return tuple(info["sample_shape"]), int(info.get("num_classes", 0)), info.get("table")
    except (OSError, ValueError, KeyError) as err:
        raise CheckpointError(f"cannot read the sample shape from '{path}' ({type(err).__name__}); "
                              "was this run made by wganlab?") from None


def export_generator(loaded: LoadedGenerator, out: Path) -> Path:
    """Write the generator's weights and everything needed to rebuild it into one safetensors file."""
    from safetensors.torch import save_file

    out = Path(out)
    if out.suffix != ".safetensors":
        raise WganlabError(f"--out must end in .safetensors, got '{out.name}'")
    out.parent.mkdir(parents=True, exist_ok=True)
    metadata = {
        "format": EXPORT_FORMAT,
        "config": json.dumps(loaded.config.to_dict()),
        "sample_shape": json.dumps(list(loaded.sample_shape)),
        "latent_dim": str(loaded.latent_dim),
        "num_classes": str(loaded.num_classes),
        "step": str(loaded.step),
        "table": json.dumps(loaded.table),
    }
    weights = {k: v.detach().cpu().contiguous() for k, v in loaded.generator.state_dict().items()}
    with atomic_output(out) as tmp:
        save_file(weights, str(tmp), metadata=metadata)
    return out


def _load_export(path: Path, device: torch.device | str) -> LoadedGenerator:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            weights = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"'{path}' is not a readable safetensors file ({err})") from None
    if metadata.get("format") != EXPORT_FORMAT:
        raise CheckpointError(f"'{path}' is not a generator exported by 'wganlab export'")
    try:
        config = from_tree(json.loads(metadata["config"]))
        shape = tuple(json.loads(metadata["sample_shape"]))
        step = int(metadata["step"])
        classes = int(metadata.get("num_classes", 0))
        table = json.loads(metadata.get("table", "null"))
    except (KeyError, ValueError) as err:
        raise CheckpointError(f"the metadata of '{path}' is damaged ({type(err).__name__}: {err})") from None
    return _assemble(config, shape, weights, step, device, classes, table)


@torch.no_grad()
def generate(loaded: LoadedGenerator, n: int, seed: int = 0, batch_size: int = 1000,
             label: int | None = None) -> torch.Tensor:
    """``n`` samples on the CPU; the same ``seed`` always gives the same samples, whatever ``batch_size``.

    A conditional generator makes class ``label``, or every class in turn (0, 1, ..., K-1, 0, ...) without one.
    """
    if n < 1:
        raise WganlabError(f"n must be at least 1, got {n}")
    labels = class_labels(loaded, n, label)
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, loaded.latent_dim, generator=rng)
    return torch.cat([out.float().cpu() for out in generate_chunks(loaded.generator, z, labels, batch_size)])



def class_labels(loaded: LoadedGenerator, n: int, label: int | None) -> torch.Tensor | None:
    if not loaded.num_classes:
        if label is not None:
            raise WganlabError("--class needs a conditional run (conditioning.mode=concat, channels or projection);"
                               " this generator is unconditional")
        return None
    if label is None:
        return torch.arange(n) % loaded.num_classes
    if not 0 <= label < loaded.num_classes:
        raise WganlabError(f"--class must lie in [0, {loaded.num_classes - 1}], got {label}")
    return torch.full((n,), label, dtype=torch.long)


def write_samples(samples: torch.Tensor, loaded: LoadedGenerator, out: Path, per_class_rows: bool = False,
                  labels: torch.Tensor | None = None) -> None:
    """``.npz`` (uint8 ``images`` N x C x H x W, or float32 ``points`` N x D: a table's rows as the networks see
    them, standardised, which is what ``wganlab eval`` compares), ``.png`` (grid or scatter), or for a feature
    table ``.csv``: the table's columns in its own units (standardisation undone), with the class column
    (``labels``' class names) when the generator is conditional.

    ``per_class_rows``: samples of a conditional generator made by :func:`generate` without a label (classes in
    turn) are laid out one row per class in a PNG grid.
    """
    out = Path(out)
    table = loaded.table
    allowed = (".npz", ".png", ".csv") if table else (".npz", ".png")
    if out.suffix not in allowed:
        why = "" if table or out.suffix != ".csv" else " (.csv is for runs on a feature table, data=table:...)"
        raise WganlabError(f"--out must end in {', '.join(allowed)}, got '{out.name}'{why}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        _write_csv(samples, table, labels, out)
        return
    toy = loaded.config.is_vectors
    if out.suffix == ".npz":
        if toy:
            np.savez_compressed(out, points=samples.numpy().astype(np.float32))  # a table's: standardised
        else:
            np.savez_compressed(out, images=to_uint8(samples, loaded.config.data.pixel_range).numpy())
        return
    if toy:
        image = plots.points_figure(samples.numpy(), title=f"{len(samples)} samples")
    else:
        images, columns = to_uint8(samples, loaded.config.data.pixel_range), None
        classes = loaded.num_classes
        if per_class_rows and classes and len(images) % classes == 0:  # sample i has class i % K
            images = images.view(-1, classes, *images.shape[1:]).transpose(0, 1).reshape(images.shape)
            columns = len(images) // classes
        image = plots.image_grid(images.numpy(), columns=columns)
    plots.save_png(image, out)


def read_samples(path: Path) -> torch.Tensor:
    """The samples of a ``.npz`` as :func:`write_samples` writes it (uint8 ``images`` N x C x H x W, float32
    ``points`` N x D), images as floats in [-1, 1]: what ``wganlab eval`` judges."""
    try:
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read '{path}' as .npz ({err})") from None
    if "points" in arrays:
        return torch.from_numpy(arrays["points"].astype(np.float32))
    if "images" in arrays and arrays["images"].dtype == np.uint8 and arrays["images"].ndim == 4:
        return torch.from_numpy(arrays["images"]).float() / 127.5 - 1
    raise ConfigError(f"'{path}' must hold uint8 'images' N x C x H x W or float32 'points' N x 2")


def _write_csv(samples: torch.Tensor, table: dict, labels: torch.Tensor | None, out: Path) -> None:
    rows = rows_in_units(samples.numpy().astype(np.float64), table)
    header = list(table["columns"])
    names = None
    if labels is not None and table.get("label"):
        header.append(table["label"])
        names = [table["classes"][i] for i in labels.tolist()]
    with atomic_output(out) as tmp, tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(rows):
            writer.writerow([f"{v:.6g}" for v in row] + ([names[i]] if names is not None else []))
