"""Does generated data help a downstream classifier? ``wganlab augment RUN`` for a conditional run.

FID does not say (Ravuri & Vinyals 2019: FID and IS do not predict classification accuracy), so the answer is
measured the way a practitioner would use the generator, with one fixed classifier recipe (:data:`RECIPES`):

- ``real``: trained on the run's real training rows (the ``data.per_class`` or ``data.limit`` subset it saw);
- ``generated`` (the classification accuracy score, "GAN-train", Shmelkov et al. 2018): trained only on as many
  generated rows, with the same class counts;
- ``real+generated xR`` for each ratio R (0.5, 1, 2, 4): the real rows plus R times as many generated ones;
- ``real+filtered x1``: the real rows plus as many generated rows kept for quality, as Luo & Lu keep only the
  generated data they judge of high quality (by measures of their own; this filter is wganlab's):
  :data:`FILTER_POOL` candidates are generated per row needed, and of each class the candidates that the
  ``real`` classifier (trained on real rows only, never on the held-out ones) gives the highest probability of
  their asked class are kept;

each tested on the same held-out real rows, and ``gan_test``: the ``real`` classifier's accuracy on generated
rows (labelled by the class they were asked for), which falls when samples do not look like their class. Every
number is a mean over ``seeds`` classifier seeds (fresh generated rows, initial weights and batch order per seed)
with its 95% t-interval.

Held-out rows: a feature table's test split; an image dataset's ``data.split=test`` where it has one
(:func:`wganlab.data.sources.has_test_split`); otherwise (the embedded MNIST, image folders) the images
:func:`wganlab.data.sources.held_out_rows` leaves out of training, at most :data:`TEST_ROWS` of them, chosen by a fixed
permutation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from wganlab.config import TABLE_DATASETS, RunConfig
from wganlab.errors import ConfigError

RATIOS = (0.5, 1.0, 2.0, 4.0)
TEST_ROWS = 2000
FILTER_POOL = 4  # candidates generated per filtered row kept
FILTERED = "real+filtered x1"


@dataclass(frozen=True)
class Recipe:
    """A classifier and how it is trained: Adam, ``steps`` minibatches of ``batch`` drawn with replacement."""

    name: str
    steps: int = 600
    batch: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4


RECIPES = {
    # vectors: two hidden layers of 128 ReLU units
    "mlp": Recipe("mlp"),
    # images: conv 3x3 16 -> max-pool -> conv 3x3 32 -> max-pool -> dense 64 -> classes, ReLU throughout; small
    # so that 5 seeds x 6 training sets fit in minutes on 2 cores
    "cnn": Recipe("cnn", steps=400),
}


def build_classifier(recipe: Recipe, shape: tuple[int, ...], classes: int) -> nn.Module:
    if recipe.name == "mlp":
        return nn.Sequential(nn.Linear(shape[0], 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                             nn.Linear(128, classes))
    channels, size = shape[0], shape[1]
    return nn.Sequential(nn.Conv2d(channels, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(32 * (size // 4) ** 2, 64), nn.ReLU(), nn.Linear(64, classes))


def train_classifier(x: torch.Tensor, y: torch.Tensor, classes: int, recipe: Recipe, seed: int) -> nn.Module:
    """The recipe's classifier fitted to (x, y); the same seed gives the same weights."""
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_classifier(recipe, tuple(x.shape[1:]), classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    model.train()
    for _ in range(recipe.steps):
        index = torch.randint(len(x), (min(recipe.batch, len(x)),), generator=rng)
        loss = nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    predicted = torch.cat([model(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)])
    return float((predicted == y).float().mean())


# generate(labels, seed) -> rows shaped like the real ones, in the same scale
Generate = Callable[[torch.Tensor, int], torch.Tensor]


def augmentation_scores(train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor],
                        generate: Generate, classes: int, recipe: Recipe, seeds: int = 5,
                        ratios: tuple[float, ...] = RATIOS) -> dict[str, Any]:
    """Accuracy on the held-out rows per training set and seed, and GAN-test; see the module docstring."""
    (x, y), (x_test, y_test) = train, test
    per_seed: dict[str, list[float]] = {"real": [], "generated": [], "gan_test": [], FILTERED: [],
                                        **{_mixed(r): [] for r in ratios}}
    for seed in range(seeds):
        real_model = train_classifier(x, y, classes, recipe, seed)
        per_seed["real"].append(accuracy(real_model, x_test, y_test))
        same = generate(y, 1000 + seed)  # as many generated rows as real ones, with their class counts
        per_seed["gan_test"].append(accuracy(real_model, same, y))
        per_seed["generated"].append(accuracy(train_classifier(same, y, classes, recipe, seed), x_test, y_test))
        kept = filtered_rows(real_model, generate, y, 3000 + seed)
        model = train_classifier(torch.cat([x, kept]), torch.cat([y, y]), classes, recipe, seed)
        per_seed[FILTERED].append(accuracy(model, x_test, y_test))
        for ratio in ratios:
            labels = _labels_like(y, ratio, seed)
            extra = generate(labels, 2000 + seed) if len(labels) else x[:0]
            model = train_classifier(torch.cat([x, extra]), torch.cat([y, labels]), classes, recipe, seed)
            per_seed[_mixed(ratio)].append(accuracy(model, x_test, y_test))
    return {"seeds": seeds, "ratios": list(ratios), "recipe": recipe.__dict__, "train_rows": len(x),
            "test_rows": len(x_test), "classes": classes, "per_seed": per_seed,
            "summary": {name: _interval(values) for name, values in per_seed.items()}}


@torch.no_grad()
def filtered_rows(judge: nn.Module, generate: Generate, labels: torch.Tensor, seed: int,
                  pool: int = FILTER_POOL) -> torch.Tensor:
    """One generated row per label, each the best of ``pool`` candidates of its class by ``judge``'s probability
    of the asked class (rows returned in the order of ``labels``)."""
    wanted = labels.repeat(pool)
    candidates = generate(wanted, seed)
    scores = torch.cat([torch.softmax(judge(candidates[i : i + 1000]), 1) for i in range(0, len(candidates), 1000)])
    confidence = scores.gather(1, wanted[:, None]).squeeze(1)
    out = torch.empty((len(labels), *candidates.shape[1:]), dtype=candidates.dtype)
    for label in labels.unique():
        need = (labels == label).nonzero().squeeze(1)
        mine = (wanted == label).nonzero().squeeze(1)
        best = mine[confidence[mine].argsort(descending=True)[: len(need)]]
        out[need] = candidates[best]
    return out


def _mixed(ratio: float) -> str:
    return f"real+generated x{ratio:g}"


def _labels_like(y: torch.Tensor, ratio: float, seed: int) -> torch.Tensor:
    """round(ratio · N) labels with the real rows' class mix: whole copies of y, then a random part of it."""
    count = round(ratio * len(y))
    whole, part = divmod(count, len(y))
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))[:part]
    return torch.cat([y.repeat(whole), y[order]])


def _interval(values: list[float]) -> dict[str, float]:
    from wganlab.study.intervals import t_interval

    interval = t_interval(values)
    return {"mean": interval.mean, "low": interval.low, "high": interval.high, "n": interval.n}


def real_rows(config: RunConfig) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """(train, held-out) real rows and labels of a run's data, as the networks see them (standardised table
    rows, images in the run's pixel range)."""
    from wganlab.data.images import to_float
    from wganlab.data.sources import has_test_split, held_out_rows, load_images, training_rows

    data = config.data
    cpu = torch.device("cpu")
    if data.name in TABLE_DATASETS:
        from wganlab.data.table import TableSource

        train = TableSource(str(data.root), data.label, "train", data.limit, cpu, data.per_class,
                            data.subset_seed)
        test = TableSource(str(data.root), data.label, "test", 0, cpu)
        if train.labels is None:
            raise ConfigError("wganlab augment needs labelled rows: the run's table has no data.label")
        return (train.rows, train.labels), (test.rows, test.labels)
    if config.is_vectors or data.name == "stacked-mnist":
        raise ConfigError(f"wganlab augment needs labelled images or a table; data={data.name} has no classes")
    images, labels = load_images(data)
    keep = training_rows(labels, data.limit, data.per_class, data.subset_seed)
    if data.split == "train" and has_test_split(data):
        test_images, test_labels = load_images(replace(data, split="test"))
    else:  # the embedded digits, folders: test on what training left out
        rest = held_out_rows(labels, data.limit, data.per_class, data.subset_seed)
        if len(rest) == 0:
            raise ConfigError(f"the run trained on every image of data={data.name}, so none is left to test on: "
                              "train with data.per_class=N (or data.limit=N) to hold images out")
        test_images, test_labels = images[rest], labels[rest]
    order = np.random.default_rng(0).permutation(len(test_labels))[:TEST_ROWS]

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return to_float(torch.from_numpy(x), data.pixel_range), torch.from_numpy(y.astype(np.int64))

    return tensors(images[keep], labels[keep]), tensors(test_images[order], test_labels[order])


def check_augmentable(config: RunConfig) -> None:
    """Raise the one-line :class:`ConfigError` that :func:`augment_run` would raise for this config, before
    minutes of training are spent on a run that cannot be scored (``wganlab augment PRESET ...`` trains first)."""
    if config.conditioning.mode == "none":
        raise ConfigError(_UNCONDITIONAL)
    real_rows(config)  # labelled data with rows held out for testing


_UNCONDITIONAL = ("wganlab augment needs a conditional run (conditioning.mode=channels, concat or projection): "
                  "an unconditional generator cannot make rows of a given class")


def augment_run(run_dir: Path, seeds: int = 5, ratios: tuple[float, ...] = RATIOS,
                out: Path | None = None) -> dict[str, Any]:
    """Score a conditional run's generator as data augmentation; writes ``augment.json`` and ``augment.png``
    into ``out`` (default ``RUN_DIR/augment``) and returns the result."""
    from wganlab import plots
    from wganlab.fileio import write_json_atomic
    from wganlab.nets.build import generate_chunks
    from wganlab.sampling import load_generator

    loaded = load_generator(Path(run_dir))
    if not loaded.num_classes:
        raise ConfigError(_UNCONDITIONAL)
    train, test = real_rows(loaded.config)

    @torch.no_grad()
    def generate(labels: torch.Tensor, seed: int) -> torch.Tensor:
        z = torch.randn(len(labels), loaded.latent_dim, generator=torch.Generator().manual_seed(seed))
        return torch.cat([chunk.float().cpu() for chunk in generate_chunks(loaded.generator, z, labels, 1000)])

    recipe = RECIPES["mlp" if loaded.config.is_vectors else "cnn"]
    result = augmentation_scores(train, test, generate, loaded.num_classes, recipe, seeds, ratios)
    result.update(run=str(run_dir), step=loaded.step, data=loaded.config.data.name)
    folder = Path(out) if out is not None else Path(run_dir) / "augment"
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / "augment.json", result)
    plots.augmentation_figure(result, folder / "augment.png")
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The result as a table for people: accuracy mean ± 95% half-width per training set."""
    lines = [f"held-out accuracy of the {result['recipe']['name']} recipe, {result['seeds']} seeds, "
             f"{result['train_rows']} real training rows, {result['test_rows']} held-out rows:"]
    for name, s in result["summary"].items():
        half = (s["high"] - s["low"]) / 2 if np.isfinite(s["high"]) else float("nan")
        lines.append(f"  {name:<24} {100 * s['mean']:5.1f} % ± {100 * half:.1f}")
    return lines



def study_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The means a study's tables and verdicts compare: ``accuracy_real``, ``accuracy_generated``, ``gan_test``
    and ``accuracy_xR`` per ratio (each run's mean over its classifier seeds)."""
    summary = result["summary"]
    out = {"accuracy_real": summary["real"]["mean"], "accuracy_generated": summary["generated"]["mean"],
           "gan_test": summary["gan_test"]["mean"]}
    if FILTERED in summary:  # results written before the filtered arm existed have none
        out["accuracy_filtered_x1"] = summary[FILTERED]["mean"]
    out.update({f"accuracy_x{r:g}": summary[_mixed(r)]["mean"] for r in result["ratios"]})
    return out
