"""Which rows of a labelled dataset a run trains on (``data.limit``, ``data.per_class``) and which it holds out.

Fixed permutations, so that every run, every variant and ``wganlab augment`` see the same rows (``data.subset_seed``
picks another fixed permutation, so that a study can repeat a claim over several draws of a small labelled subset,
as one draw can be lucky); a module of its own
so that the sources (tables, images) and the package's front door can both use it without importing each other.
"""

from __future__ import annotations

import numpy as np

from wganlab.errors import DataError


def training_rows(labels: np.ndarray, limit: int = 0, per_class: int = 0, subset_seed: int = 0) -> np.ndarray:
    """Indices of the rows a run trains on, the same for every run of one ``subset_seed``: ``per_class`` of each
    class, else ``limit`` of all, each chosen by the permutation that seed fixes; every row when both are 0. The
    other rows are held out (:func:`held_out_rows`), e.g. to test a classifier trained on generated data."""
    order = np.random.default_rng(subset_seed).permutation(len(labels))
    if per_class:
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < per_class:
            short = classes[counts.argmin()]
            raise DataError(f"data.per_class={per_class} but class {short} has only {counts.min()} images; use at "
                            f"most {counts.min()}")
        keep = np.concatenate([order[labels[order] == c][:per_class] for c in classes])
        return np.sort(keep)
    if not limit:
        return np.arange(len(labels))
    if limit > len(labels):
        raise DataError(f"data.limit={limit} but the dataset has {len(labels)} images; use at most {len(labels)}")
    return np.sort(order[:limit])


def held_out_rows(labels: np.ndarray, limit: int = 0, per_class: int = 0, subset_seed: int = 0) -> np.ndarray:
    """The rows :func:`training_rows` leaves out."""
    return np.setdiff1d(np.arange(len(labels)), training_rows(labels, limit, per_class, subset_seed))
