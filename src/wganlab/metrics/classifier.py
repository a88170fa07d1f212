"""wganlab's own feature network for 28x28 digits and clothes: a small CNN classifier shipped with the package.

Inception-V3 is the standard FID network, but it needs 299x299 RGB inputs, runs at 6-7 images/s on a CPU and
its weights cannot be downloaded everywhere. For MNIST-like data a classifier trained on that data gives
features that separate its classes: its 128-d penultimate layer is the feature space for FID/KID/PR, its softmax
the class histogram for class coverage, Inception Score and Stacked-MNIST mode counting.

The shipped weights were made by ``wganlab classifier train`` with the seed and command recorded beside them.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wganlab.errors import CheckpointError, ConfigError

WEIGHTS_PACKAGE = "wganlab.metrics.weights"
FEATURE_DIM = 128
HELD_OUT = 2000  # embedded MNIST digits never trained on (see embedded_held_out)


class DigitNet(nn.Module):
    """Three 3x3 conv blocks (32, 64, 128 channels, max-pooled 28 -> 14 -> 7 -> 3), a 128-unit layer, 10 logits."""

    def __init__(self, classes: int = 10) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 3 * 3, FEATURE_DIM), nn.ReLU(),
        )  # fmt: skip
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations for images in [-1, 1], N x 1 x 28 x 28."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def weights_name(dataset: str) -> str:
    if dataset not in ("mnist", "fashion-mnist"):
        raise ConfigError(f"the shipped classifiers cover mnist and fashion-mnist, not '{dataset}'")
    return dataset


def load_classifier(dataset: str, path: Path | None = None, device: torch.device | str = "cpu") -> DigitNet:
    """The shipped (or a given) classifier for ``dataset``, in eval mode, loaded without running pickled code."""
    name = weights_name(dataset)
    try:
        if path is None:
            with resources.files(WEIGHTS_PACKAGE).joinpath(f"{name}.pt").open("rb") as handle:
                state = torch.load(handle, map_location=device, weights_only=True)
        else:
            state = torch.load(path, map_location=device, weights_only=True)
    except (FileNotFoundError, RuntimeError, OSError) as err:
        raise CheckpointError(f"cannot load the {name} classifier ({err}); run 'wganlab classifier train "
                              f"--data {name}'") from None
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten: leave the caller's RNG alone
        net = DigitNet()
    net.load_state_dict(state)
    # Channels-last weights take oneDNN's NHWC convolutions on a CPU: with the batches of predict(), 3.7x the
    # images per second of the default layout on one thread (1,500 -> 5,600) and 3.6x on two, features equal to
    # a relative 4e-7 and every predicted class the same (2026-12-05, AVX-512 host, 4,000 digits). Elsewhere the
    # default layout: the gain was measured on CPUs, and MPS has mis-convolved channel slices of channels-last
    # tensors (stacked MNIST classifies such slices).
    layout = torch.channels_last if torch.device(device).type == "cpu" else torch.preserve_format
    return net.to(device, memory_format=layout).eval().requires_grad_(False)


# Batches of 128 keep the first block's activations (128 x 32 x 28 x 28 floats, 13 MB) near the cache: at 1,000
# (100 MB) the ReLU and max-pool that follow are memory-bound and a CPU classified 1.7x slower, to the same bits.
PREDICT_BATCH = 128


@torch.no_grad()
def predict(net: DigitNet, images: torch.Tensor,
            batch_size: int = PREDICT_BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """(features N x 128, class probabilities N x 10) for float images in [-1, 1]."""
    device = next(net.parameters()).device
    features, probs = [], []
    for start in range(0, len(images), batch_size):
        f = net.features(images[start : start + batch_size].to(device).float())
        features.append(f.cpu())
        probs.append(F.softmax(net.head(f), dim=1).cpu())
    return torch.cat(features), torch.cat(probs)


def accuracy(net: DigitNet, images: torch.Tensor, labels: torch.Tensor) -> float:
    _, probs = predict(net, images)
    return float((probs.argmax(1) == labels).float().mean())


def train_classifier(images: torch.Tensor, labels: torch.Tensor, epochs: int = 8, seed: int = 0,
                     batch_size: int = 128, progress: bool = True) -> DigitNet:
    """Adam 1e-3 with cosine decay, random ±2-pixel shifts as augmentation; images in [-1, 1]."""
    torch.manual_seed(seed)
    net = DigitNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    steps = epochs * (len(images) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    rng = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(images), generator=rng)
        started, total = time.perf_counter(), 0.0
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            x = _shift(images[index], rng)
            loss = F.cross_entropy(net(x), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / (len(order) // batch_size):.4f} "
                  f"({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return net.eval()


def _shift(x: torch.Tensor, rng: torch.Generator, pixels: int = 2) -> torch.Tensor:
    dx, dy = (int(v) for v in torch.randint(-pixels, pixels + 1, (2,), generator=rng))
    padded = F.pad(x, (pixels, pixels, pixels, pixels), value=-1.0)
    size = x.shape[-1]
    return padded[:, :, pixels + dy : pixels + dy + size, pixels + dx : pixels + dx + size]


def training_split(dataset: str, root: str | None) -> tuple[tuple, tuple]:
    """((train images, labels), (held-out images, labels)) as float tensors in [-1, 1] and long labels."""
    from wganlab.config import DataConfig
    from wganlab.data.sources import load_images

    if dataset == "mnist" and not root:
        images, labels = load_images(DataConfig(name="mnist"))
        x, y = _as_float(images), torch.from_numpy(labels.astype(np.int64))
        held_out = embedded_held_out()
        keep = torch.ones(len(x), dtype=torch.bool)
        keep[held_out] = False
        return (x[keep], y[keep]), (x[held_out], y[held_out])
    train = load_images(DataConfig(name=dataset, root=root, split="train"))
    test = load_images(DataConfig(name=dataset, root=root, split="test"))
    return ((_as_float(train[0]), torch.from_numpy(train[1].astype(np.int64))),
            (_as_float(test[0]), torch.from_numpy(test[1].astype(np.int64))))


def embedded_held_out() -> torch.Tensor:
    """Indices of the 2,000 embedded digits the classifier never saw: a fixed random draw, because the embedded
    set is stored sorted by class (its last 2,000 are all 8s and 9s)."""
    return torch.randperm(10_000, generator=torch.Generator().manual_seed(2019))[:HELD_OUT]


def _as_float(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(images)).float() / 127.5 - 1.0


def train_and_save(dataset: str, root: str | None, out_dir: Path, epochs: int, seed: int) -> dict:
    """Train, measure held-out accuracy, write ``NAME.pt`` and ``NAME.json`` (how it was made) into ``out_dir``."""
    name = weights_name(dataset)
    (train_x, train_y), (test_x, test_y) = training_split(dataset, root)
    started = time.perf_counter()
    net = train_classifier(train_x, train_y, epochs=epochs, seed=seed)
    record = {
        "dataset": name, "seed": seed, "epochs": epochs, "train_images": len(train_x),
        "held_out_images": len(test_x), "held_out_accuracy": round(accuracy(net, test_x, test_y), 4),
        "held_out": "2,000 embedded digits (embedded_held_out)" if name == "mnist" and not root else "test split",
        "seconds": round(time.perf_counter() - started, 1), "torch": torch.__version__,
        "python": platform.python_version(),
        "command": f"wganlab classifier train --data {name}{':DIR' if root else ''} --epochs {epochs} --seed {seed}",
    }  # fmt: skip
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), out_dir / f"{name}.pt")
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record
