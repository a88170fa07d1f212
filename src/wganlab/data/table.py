"""Feature tables: a CSV file with a header (``data=table:FILE.csv``, labels in ``data.label=COLUMN``), a ``.npz``
with ``x`` (N x D) and optionally ``y`` (N), or a table scikit-learn ships (``data=table:sklearn:wine``,
``digits``, ``breast_cancer``; the optional ``tables`` extra).

Every table is split once, the same way for every run: a fixed permutation (stratified by class when labelled)
puts 20% of the rows in ``data.split=test``, the held-out rows a downstream classifier is scored on, and the
rest in ``train``. Features are standardised with the training rows' mean and standard deviation (a constant
column keeps scale 1): the networks see unit-scale features, the run records the standardisation in ``run.json``
and sampling undoes it, so generated rows are in the table's own units.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wganlab.errors import ConfigError, DataError

SKLEARN_TABLES = {"digits": "load_digits", "wine": "load_wine", "breast_cancer": "load_breast_cancer"}
TEST_SHARE = 0.2
SPLIT_SEED = 0


@dataclass
class Table:
    """Rows of float features, integer classes (or None) and the names to write them back with."""

    features: np.ndarray  # float64, N x D
    labels: np.ndarray | None  # int64, N
    columns: list[str]
    classes: list[str]  # class names; label i is classes[i]
    label: str | None = None  # the label column's name


def read_table(root: str, label: str | None = None) -> Table:
    """The table at ``root``; one-line :class:`DataError` naming the row and column of anything unusable."""
    if root.startswith("sklearn:"):
        table = _sklearn_table(root.partition(":")[2], label)
    else:
        path = Path(root)
        if not path.is_file():
            raise DataError(f"data=table:{root}: no such file; give a .csv or .npz table")
        if path.suffix == ".npz":
            table = _npz_table(path, label)
        elif path.suffix == ".csv":
            table = _csv_table(path, label)
        else:
            raise DataError(f"data=table:{root}: a table is a .csv or .npz file, not '{path.suffix or path.name}'")
    if table.labels is not None and len(table.classes) < 2:
        raise DataError(f"{_name(root)}: the label column '{table.label}' has one class ({table.classes[0]!r}); "
                        "a conditional model needs two or more: drop data.label to model the rows without labels")
    return table


def _csv_table(path: Path, label: str | None) -> Table:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path.name} is empty; a table needs a header row and data rows")
    header = [cell.strip() for cell in rows[0]]
    if len(rows) == 1:
        raise DataError(f"{path.name} has a header and no rows; add data rows below '{','.join(header)}'")
    if label is not None and label not in header:
        raise DataError(f"{path.name} has no column '{label}' (its columns: {', '.join(header)}); set data.label "
                        "to the column that holds the classes")
    features, labels = [], []
    columns = [name for name in header if name != label]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path.name} row {number} has {len(row)} values but the header has {len(header)} "
                            "columns; every row needs one value per column")
        values = []
        for name, cell in zip(header, row, strict=True):
            if name == label:
                labels.append(cell.strip())
                continue
            values.append(_number(cell, path.name, number, name))
        features.append(values)
    names = sorted(set(labels), key=_class_order) if label is not None else []
    index = {name: i for i, name in enumerate(names)}
    y = np.array([index[v] for v in labels], dtype=np.int64) if label is not None else None
    return Table(np.array(features, dtype=np.float64), y, columns, names, label)


def _number(cell: str, file: str, row: int, column: str) -> float:
    text = cell.strip()
    if not text:
        raise DataError(f"{file} row {row}, column '{column}' is empty; fill it in or drop the row")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{file} row {row}, column '{column}': {text!r} is not a number; features must be "
                        "numeric (name a text column with data.label if it holds the classes)") from None
    if not math.isfinite(value):
        raise DataError(f"{file} row {row}, column '{column}' is {text}; every feature must be a finite number")
    return value


def _class_order(name: str) -> tuple[int, float | str]:
    """Numeric class names in numeric order (2 before 10), then the others alphabetically."""
    try:
        return (0, float(name))
    except ValueError:
        return (1, name)


def _npz_table(path: Path, label: str | None) -> Table:
    try:
        arrays = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise DataError(f"{path.name} is not a readable .npz file ({err}); write it with numpy.savez") from None
    if "x" not in arrays:
        raise DataError(f"{path.name} has no array 'x' (it has: {', '.join(arrays.files) or 'none'}); save the "
                        "features as x (N x D) and any classes as y")
    x = arrays["x"]
    if x.ndim != 2 or len(x) == 0 or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{path.name}: 'x' must be a non-empty numeric N x D array, got {x.dtype} {x.shape}")
    bad = np.argwhere(~np.isfinite(x.astype(np.float64)))
    if len(bad):
        row, column = bad[0]
        raise DataError(f"{path.name}: x[{row}, {column}] is {x[row, column]}; every feature must be a finite "
                        "number")
    columns = [f"x{i}" for i in range(x.shape[1])]
    if "y" not in arrays:
        if label is not None:
            raise DataError(f"{path.name} has no array 'y' for data.label={label}; save the classes as y")
        return Table(x.astype(np.float64), None, columns, [])
    y = arrays["y"]
    if y.shape != (len(x),):
        raise DataError(f"{path.name}: 'y' must hold one class per row of x ({len(x)}), got shape {y.shape}")
    names, labels = np.unique(y, return_inverse=True)
    return Table(x.astype(np.float64), labels.astype(np.int64), columns, [str(n) for n in names], label or "y")


def _sklearn_table(name: str, label: str | None) -> Table:
    if name not in SKLEARN_TABLES:
        raise DataError(f"data=table:sklearn:{name}: scikit-learn's tables here are "
                        f"{', '.join(SKLEARN_TABLES)}")
    try:
        import sklearn.datasets
    except ImportError:
        raise DataError("data=table:sklearn:... needs scikit-learn: pip install scikit-learn "
                        "(wganlab's tables extra)") from None
    bunch = getattr(sklearn.datasets, SKLEARN_TABLES[name])()
    columns = [str(c) for c in getattr(bunch, "feature_names", [])] or [f"x{i}" for i in range(bunch.data.shape[1])]
    classes = [str(c) for c in getattr(bunch, "target_names", sorted(set(bunch.target)))]
    return Table(bunch.data.astype(np.float64), bunch.target.astype(np.int64), columns, classes, label or "class")


def split_rows(table: Table, part: str) -> Table:
    """The ``train`` or ``test`` rows of the table's fixed split (stratified by class when labelled)."""
    rng = np.random.default_rng(SPLIT_SEED)
    n = len(table.features)
    groups = [np.arange(n)] if table.labels is None else [np.flatnonzero(table.labels == c)
                                                          for c in range(len(table.classes))]
    test = []
    for rows in groups:
        shuffled = rng.permutation(rows)
        test.extend(shuffled[: round(TEST_SHARE * len(rows))].tolist())
    chosen = np.setdiff1d(np.arange(n), test) if part == "train" else np.sort(np.array(test, dtype=np.int64))
    if len(chosen) == 0:
        raise DataError(f"the table has {n} rows: too few for a {part} split; give more rows")
    return Table(table.features[chosen], None if table.labels is None else table.labels[chosen], table.columns,
                 table.classes, table.label)


@dataclass
class Standardisation:
    """Per-feature ``(x - mean) / scale``, fitted on training rows; a constant feature keeps scale 1."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardisation:
        std = features.std(axis=0)
        return cls(features.mean(axis=0), np.where(std > 0, std, 1.0))

    def apply(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.scale

    def undo(self, standardised: np.ndarray) -> np.ndarray:
        return standardised * self.scale + self.mean


class TableSource:
    """A :class:`~wganlab.data.sources.DataSource` of standardised feature rows; draws rows with torch's global RNG,
    so a checkpoint (which holds that RNG) resumes the same draws."""

    is_vectors = True
    mixture = None

    def __init__(self, root: str, label: str | None, part: str, limit: int, device: torch.device,
                 per_class: int = 0, subset_seed: int = 0) -> None:
        from wganlab.data.subsets import training_rows

        table = read_table(root, label)
        train = split_rows(table, "train")
        self.standardisation = Standardisation.fit(train.features)  # on every training row, whatever the limit
        rows = train if part == "train" else split_rows(table, "test")
        if limit or per_class:
            if per_class and rows.labels is None:
                raise DataError("data.per_class needs a labelled table: name its class column with data.label")
            keep = training_rows(rows.labels if rows.labels is not None else np.zeros(len(rows.features)), limit,
                                 per_class, subset_seed)
            rows = Table(rows.features[keep], None if rows.labels is None else rows.labels[keep], rows.columns,
                         rows.classes, rows.label)
        self.table = table
        self.device = device
        self.rows = torch.from_numpy(self.standardisation.apply(rows.features)).float().to(device)
        self.labels = None if rows.labels is None else torch.from_numpy(rows.labels).to(device)
        self.shape = (self.rows.shape[1],)
        self.num_classes = len(table.classes) if table.labels is not None else None

    def sample(self, batch_size: int) -> torch.Tensor:
        return self.sample_with_labels(batch_size)[0]

    def sample_with_labels(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        index = torch.randint(len(self.rows), (batch_size,)).to(self.device)
        return self.rows[index], None if self.labels is None else self.labels[index]

    def describe(self) -> dict:
        """What sampling needs to write rows back in the table's units and names (kept in ``run.json``)."""
        return {"columns": self.table.columns, "label": self.table.label, "classes": self.table.classes,
                "mean": self.standardisation.mean.tolist(), "scale": self.standardisation.scale.tolist()}

    def state_dict(self) -> dict:
        return {}  # every draw comes from the checkpointed global RNG

    def load_state_dict(self, state: dict) -> None:
        del state


def rows_in_units(samples: np.ndarray, info: dict) -> np.ndarray:
    """Generated standardised rows back in the table's own units."""
    mean, scale = np.asarray(info["mean"]), np.asarray(info["scale"])
    if samples.shape[1] != len(mean):
        raise ConfigError(f"these samples have {samples.shape[1]} features but the table had {len(mean)}")
    return Standardisation(mean, scale).undo(samples)


def _name(root: str) -> str:
    return root if root.startswith("sklearn:") else Path(root).name
