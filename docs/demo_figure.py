"""Rebuild docs/images/demo.png from the runs `make demo` writes (run from the repository root)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

RUNS = Path("runs/demo")
PANELS = [
    ("wgan-gp-8gaussians", "WGAN-GP, 8 gaussians, 2,000 steps"),
    ("gan-mnist", "GAN (DCGAN nets), MNIST, 500 steps"),
    ("wgan-gp-mnist", "WGAN-GP, MNIST, 200 steps"),
]


def last_frame(run: str) -> Image.Image:
    return Image.open(sorted((RUNS / run / "samples").glob("step_*.png"))[-1])


def main() -> None:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(12, 4.2), dpi=90)
    for ax, (run, title) in zip(axes, PANELS, strict=True):
        ax.imshow(last_frame(run))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig("docs/images/demo.png")


if __name__ == "__main__":
    main()
