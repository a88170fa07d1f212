"""Pictures of a run: sample grids, 2D scatter plots, the training GIF and loss curves."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from wganlab.fileio import atomic_output


def image_grid(images: np.ndarray, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 N x C x H x W -> one uint8 H' x W' x 3 grid image with ``padding`` pixels between tiles."""
    n, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    tiles = images if channels == 3 else np.repeat(images[:, :1], 3, axis=1)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, 3), np.uint8)
    for index in range(n):
        r, c = divmod(index, columns)
        top, left = padding + r * (height + padding), padding + c * (width + padding)
        grid[top : top + height, left : left + width] = tiles[index].transpose(1, 2, 0)
    return grid


def points_figure(points: np.ndarray, reference: np.ndarray | None = None, title: str = "") -> np.ndarray:
    """A scatter plot of generated 2D points (over real ones in grey) rendered to an RGB array; rows of more than
    two (standardised) features are shown by their first two."""
    if points.shape[1] > 2:
        title = f"{title} (features 1 and 2 of {points.shape[1]})".strip()
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=2, c="0.75", label="real")
    ax.scatter(points[:, 0], points[:, 1], s=2, c="tab:blue", label="generated")
    lim = max(2.0, float(np.abs(reference).max()) * 1.2 if reference is not None else 2.0)
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title)
    ax.legend(loc="upper right", fontsize=7, markerscale=3)
    fig.tight_layout()
    return _render(fig)


def _render(fig: plt.Figure) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def save_png(image: np.ndarray, path: Path) -> None:
    """Written to a temporary name and renamed, so a crash never leaves a torn PNG for the GIF to trip on."""
    with atomic_output(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def save_gif(frames: list[Path], path: Path, seconds_per_frame: float = 0.4) -> None:
    """Assemble PNG frames into a looping GIF (the MNIST blog's training animation); the last frame lingers."""
    if not frames:
        return
    images = [Image.open(p).convert("RGB") for p in frames]
    durations = [int(seconds_per_frame * 1000)] * (len(images) - 1) + [2000]
    with atomic_output(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)


def loss_curves(records: list[dict[str, Any]], path: Path, title: str = "") -> None:
    """Discriminator and generator losses, the critic's Wasserstein estimate and the gradient norms vs step."""
    if not records:
        return
    steps = [r["step"] for r in records]

    def series(key: str) -> list[float]:
        return [np.nan if r.get(key) is None else r[key] for r in records]

    quality = next((k for k in ("fid", "w1") if any(r.get(k) is not None for r in records)), None)
    fig, axes = plt.subplots(1, 4 if quality else 3, figsize=(17 if quality else 13, 3.6), dpi=100)
    axes[0].plot(steps, series("d_loss"), label="discriminator")
    axes[0].plot(steps, series("g_loss"), label="generator")
    axes[0].set(title="losses", xlabel="generator step")
    axes[0].legend()
    axes[1].plot(steps, series("wasserstein_estimate"), color="tab:green", label="E[D(x)] − E[D(G(z))]")
    if any(r.get("gradient_penalty") for r in records):
        axes[1].plot(steps, series("gradient_penalty"), color="tab:red", label="gradient penalty (before λ)")
    axes[1].set(title="critic estimate", xlabel="generator step")
    axes[1].legend()
    axes[2].plot(steps, series("d_grad_norm"), label="discriminator")
    axes[2].plot(steps, series("g_grad_norm"), label="generator")
    axes[2].set(title="gradient norm", xlabel="generator step", yscale="log")
    axes[2].legend()
    if quality:
        points = [(r["step"], r[quality]) for r in records if r.get(quality) is not None]
        axes[3].plot(*zip(*points, strict=True), marker="o", color="tab:purple")
        axes[3].set(title="FID (wganlab features)" if quality == "fid" else "W1 to real points",
                    xlabel="generator step")
    if title:
        fig.suptitle(title)
    _save(fig, path)


BASELINES = {"w1_real_real": ("two real batches", ":"), "w1_real_mean": ("real batch vs the data's mean", "--"),
             "w1_real_centroids": ("real batch vs k-means centroids", "-.")}


def critic_vs_w1(records: list[dict[str, Any]], path: Path, title: str = "") -> bool:
    """With ``eval.wasserstein``: the critic's estimate and the exact batch W1 at each evaluation, with the real
    baselines as horizontal lines (Stanczuk et al. 2021); False (nothing written) when the run did not measure it."""
    points = [r for r in records if r.get("w1_batch") is not None]
    if not points:
        return False
    steps = [r["step"] for r in points]
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=100)
    ax.plot(steps, [r["w1_batch"] for r in points], marker="o", color="tab:purple", label="exact W1, real vs generated")
    ax.plot(steps, [r["critic_estimate"] for r in points], marker="s", color="tab:green",
            label="critic: E[D(x)] − E[D(G(z))]")
    for key, (label, style) in BASELINES.items():
        ax.axhline(points[-1][key], color="grey", linestyle=style, label=label)
    ax.set(title=title or "critic against the exact batch W1", xlabel="generator step",
           ylabel="W1 (data space, batches of equal size)")
    _save(fig, path, decorate=ax)
    return True


def augmentation_figure(result: dict[str, Any], path: Path) -> None:
    """``wganlab augment``: held-out accuracy against the ratio of generated to real rows (0: real only), with
    95% intervals; generated-only (GAN-train) and GAN-test as horizontal lines."""
    summary = result["summary"]
    ratios = [0.0, *result["ratios"]]
    names = ["real", *(name for name in summary if name.startswith("real+generated"))]  # in the ratios' order
    means = np.array([summary[n]["mean"] for n in names])
    low = np.array([summary[n]["low"] for n in names])
    high = np.array([summary[n]["high"] for n in names])
    fig, ax = plt.subplots(figsize=(6, 3.8), dpi=100)
    ax.errorbar(ratios, means, yerr=[np.nan_to_num(means - low), np.nan_to_num(high - means)], marker="o",
                capsize=3, label="real + generated (0: real only)")
    for key, label, style in (("generated", "generated only (GAN-train)", "--"),
                              ("gan_test", "GAN-test: real classifier on generated", ":")):
        ax.axhline(summary[key]["mean"], color="grey", linestyle=style, label=label)
    ax.set(xlabel="generated rows per real row", ylabel="held-out accuracy",
           title=f"{result.get('data', '')}: {result['train_rows']} real rows, {result['seeds']} seeds")
    _save(fig, path, decorate=ax)


def _save(fig: plt.Figure, path: Path, decorate: plt.Axes | None = None) -> None:
    """Lay out, write and close a figure; ``decorate``: an axes that gets a light grid and a small legend."""
    if decorate is not None:
        decorate.grid(alpha=0.3)
        decorate.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
