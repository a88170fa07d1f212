"""Sample-quality measures on feature vectors and class probabilities.

- KID: the unbiased MMD² with the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³ (Bińkowski et al. 2018),
  mean ± std over random subsets.
- Inception Score: exp E_x KL(p(y|x) ‖ p(y)) over 10 splits (Salimans et al. 2016), on any classifier's softmax.
- Precision / recall: the share of each set inside the union of k-NN balls of the other (Kynkäänniemi et al. 2019).
- Density / coverage: Naeem et al. 2020's fixes of those for outliers.
- Class coverage: how many classes a generator produces and KL(generated class mix ‖ real class mix).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    return (x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))).detach().double().cpu()


KID_SUBSETS = 100  # random subsets per KID (Bińkowski et al.; torch-fidelity's default)


def kid(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, subsets: int = KID_SUBSETS,
        subset_size: int = 1000, seed: int = 0, real_sums: torch.Tensor | None = None) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over ``subsets`` random subsets of ``subset_size`` from each set.

    A set smaller than the subset size is an error, as in torch-fidelity: drawing "subsets" of every row would
    repeat one number ``subsets`` times and report a spread of 0. :func:`kid_subset_size` picks a size that fits.
    Each of the MMD²'s three kernel sums is computed subset by subset or, where that is cheaper, from the whole
    kernel matrix between the two sets at once (:func:`_subset_kernel_sums`): the same subsets and sums, in
    another order (100 subsets of 1,000 from 10,000 real and 2,000 generated: 37 GFLOP instead of 77).
    ``real_sums`` are :func:`kid_real_sums` of the same draw, which do not depend on the generator (26 of the 37
    GFLOP): :func:`wganlab.metrics.evaluate.reference_kid_sums` caches them beside the reference features.
    """
    from wganlab.errors import ConfigError

    x, y = _as_tensor(real), _as_tensor(fake)
    if min(len(x), len(y)) < subset_size or subset_size < 2:
        raise ConfigError(f"KID needs at least {subset_size} samples in each set for subsets of {subset_size}, got "
                          f"{len(x)} real and {len(y)} generated; generate more samples or use a smaller subset size")
    m = subset_size
    real_rows, fake_rows = kid_subsets(len(x), len(y), subsets, m, seed)
    if real_sums is None:
        real_sums = _subset_kernel_sums(x, x, real_rows, real_rows, diagonal=False)
    elif real_sums.shape != (subsets,):
        raise ConfigError(f"real_sums holds {tuple(real_sums.shape)} sums for {subsets} KID subsets; compute them "
                          "with kid_real_sums for the same sets, subsets and seed")
    within = (real_sums + _subset_kernel_sums(y, y, fake_rows, fake_rows, diagonal=False)) / (m * (m - 1))
    values = (within - 2 * _subset_kernel_sums(x, y, real_rows, fake_rows) / (m * m)).numpy()
    return float(np.mean(values)), float(np.std(values))


def kid_subsets(n_real: int, n_fake: int, subsets: int, subset_size: int, seed: int = 0
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The rows of each KID subset (``subsets`` x ``subset_size`` each), drawn without replacement within a
    subset: a real subset, then a generated one, from one generator seeded ``seed``."""
    rng = torch.Generator().manual_seed(seed)
    draws = [(torch.randperm(n_real, generator=rng)[:subset_size], torch.randperm(n_fake, generator=rng)[:subset_size])
             for _ in range(subsets)]
    return torch.stack([a for a, _ in draws]), torch.stack([b for _, b in draws])


def kid_real_sums(real: np.ndarray | torch.Tensor, n_fake: int, subsets: int = KID_SUBSETS, subset_size: int = 1000,
                  seed: int = 0) -> torch.Tensor:
    """Each KID subset's sum of k over pairs of distinct real rows, for generated sets of ``n_fake`` (the draw
    alternates real and generated subsets, so it depends on both sizes)."""
    x = _as_tensor(real)
    rows, _ = kid_subsets(len(x), n_fake, subsets, subset_size, seed)
    return _subset_kernel_sums(x, x, rows, rows, diagonal=False)


KERNEL_BLOCK = 1 << 22  # kernel entries held at once (32 MB in float64) when a whole kernel matrix is summed


def _kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """k(x, y) = (xᵀy / d + 1)³ for every row of ``a`` against every row of ``b``."""
    return ((a @ b.T) / a.shape[1] + 1) ** 3


def _subset_kernel_sums(a: torch.Tensor, b: torch.Tensor, a_rows: torch.Tensor, b_rows: torch.Tensor,
                        diagonal: bool = True) -> torch.Tensor:
    """For each subset s, the sum of k(a_i, b_j) over i in ``a_rows[s]`` and j in ``b_rows[s]`` (without i = j
    when ``diagonal`` is False: ``a`` and ``b`` are then one set and the subsets the same rows).

    Subset by subset this costs S·m²·d multiply-adds; from the whole kernel matrix, n_a·n_b·(d + S), each block of
    rows multiplied by the subsets' membership (0/1) matrix. The cheaper is used."""
    count, m = a_rows.shape
    if len(a) * len(b) * (a.shape[1] + count) >= count * m * m * a.shape[1]:
        sums = torch.stack([_kernel(a[rows_a], b[rows_b]).sum() for rows_a, rows_b in zip(a_rows, b_rows, strict=True)])
    else:
        a_members, b_members = _membership(a_rows, len(a)), _membership(b_rows, len(b))
        sums = torch.zeros(count, dtype=torch.float64)
        step = max(1, KERNEL_BLOCK // len(b))
        for start in range(0, len(a), step):
            block = _kernel(a[start:start + step], b)  # rows x n_b
            sums += (a_members[:, start:start + step] * (b_members @ block.T)).sum(1)
    if not diagonal:  # k(x, x) of every row in the subset
        sums -= torch.stack([((a[rows] * a[rows]).sum(1) / a.shape[1] + 1).pow(3).sum() for rows in a_rows])
    return sums


def _membership(rows: torch.Tensor, n: int) -> torch.Tensor:
    """S x n float64 matrix with a 1 where a subset holds the row."""
    members = torch.zeros(len(rows), n, dtype=torch.float64)
    return members.scatter_(1, rows, 1.0)


def kid_subset_size(n_real: int, n_fake: int, preferred: int = 1000) -> int:
    """The customary 1,000 where both sets have that many; otherwise half the smaller set, so that the subsets
    differ and their spread means something (the size is reported beside the value)."""
    smaller = min(n_real, n_fake)
    return preferred if smaller >= preferred else max(2, smaller // 2)


def inception_score(probs: np.ndarray | torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over ``splits`` equal parts of exp(E KL(p(y|x) ‖ p(y)))."""
    p = _as_tensor(probs)
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(0, keepdim=True)
        kl = (part * (torch.log(part.clamp_min(1e-12)) - torch.log(marginal.clamp_min(1e-12)))).sum(1).mean()
        scores.append(float(torch.exp(kl)))
    return float(np.mean(scores)), float(np.std(scores))


def neighbour_radii(x: torch.Tensor, ks: tuple[int, ...], chunk: int = 2048) -> dict[int, torch.Tensor]:
    """Each row's distance to its k-th nearest other row, for every k in ``ks``, from one pass over the pairwise
    distances (the row itself, at distance 0, is the nearest and not counted).

    The real set's radii do not depend on the generator: :func:`wganlab.metrics.evaluate.reference_radii` caches
    them beside the reference features, which for 10,000 real images saves a 10,000 x 10,000 distance matrix per
    evaluation."""
    x = _as_tensor(x).float()
    if len(x) <= max(ks):
        from wganlab.errors import ConfigError

        raise ConfigError(f"precision, recall, density and coverage measure each sample's distance to its k-th "
                          f"nearest neighbour in its own set (k = {max(ks)}), which needs more than {max(ks)} "
                          f"samples, got {len(x)}; evaluate more samples")
    nearest = [torch.cdist(x[start : start + chunk], x).topk(max(ks) + 1, dim=1, largest=False).values
               for start in range(0, len(x), chunk)]  # ascending: column k is the k-th neighbour
    table = torch.cat(nearest)
    return {k: table[:, k].contiguous() for k in ks}


@dataclass(frozen=True)
class PRDC:
    precision: float
    recall: float
    density: float
    coverage: float


def prdc(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, k_pr: int = 3, k_dc: int = 5,
         real_radii: dict[int, torch.Tensor] | None = None, chunk: int = 2048) -> PRDC:
    """Precision/recall with k = 3 (Kynkäänniemi et al.) and density/coverage with k = 5 (Naeem et al.).

    ``real_radii`` (:func:`neighbour_radii` of ``real`` for both k) may be passed in when they are cached.
    Precision and density read the generated-by-real distances with generated rows, recall and coverage with real
    rows, each in a pass of its own: a distance's last bit can depend on the side it is computed from, and a
    generated copy of a real sample lies exactly on a ball's edge.
    """
    x, y = _as_tensor(real).float(), _as_tensor(fake).float()
    real_r = real_radii if real_radii is not None else neighbour_radii(x, (k_pr, k_dc))
    fake_r = neighbour_radii(y, (k_pr,))[k_pr]
    in_real_ball, real_balls = [], []  # per generated sample: inside some real k_pr-ball; in how many k_dc-balls
    for start in range(0, len(y), chunk):
        distance = torch.cdist(y[start : start + chunk], x)
        in_real_ball.append((distance <= real_r[k_pr][None, :]).any(1))
        real_balls.append((distance <= real_r[k_dc][None, :]).sum(1))
    recalled, nearest_fake = [], []  # per real sample: inside some generated k_pr-ball; its nearest generated one
    for start in range(0, len(x), chunk):
        distance = torch.cdist(x[start : start + chunk], y)
        recalled.append((distance <= fake_r[None, :]).any(1))
        nearest_fake.append(distance.min(1).values)
    return PRDC(precision=float(torch.cat(in_real_ball).double().mean()),
                recall=float(torch.cat(recalled).double().mean()),
                density=float(torch.cat(real_balls).double().sum() / (k_dc * len(y))),
                coverage=float((torch.cat(nearest_fake) <= real_r[k_dc]).double().mean()))


@dataclass(frozen=True)
class ClassCoverage:
    covered: int
    total: int
    kl_to_real: float
    histogram: list[int]


def class_coverage(fake_probs: np.ndarray | torch.Tensor, real_mix: np.ndarray | torch.Tensor,
                   min_ratio: float = 0.1) -> ClassCoverage:
    """A class is covered when its share among generated samples (by argmax) is at least ``min_ratio`` of its
    share in the real data; KL(generated class mix ‖ real class mix) uses the same argmax histogram."""
    probs = _as_tensor(fake_probs)
    real = _as_tensor(real_mix)
    real = real / real.sum()
    counts = torch.bincount(probs.argmax(1), minlength=len(real)).double()
    share = counts / counts.sum()
    covered = int((share >= min_ratio * real).sum())
    kl = float((share * (torch.log(share.clamp_min(1e-12)) - torch.log(real.clamp_min(1e-12)))).sum())
    return ClassCoverage(covered, len(real), kl, counts.long().tolist())


def asked_class_accuracy(fake_probs: np.ndarray | torch.Tensor, asked: torch.Tensor) -> list[float]:
    """Per asked class, the share of its samples that the classifier (argmax) assigns to it: whether a
    conditional generator follows its label. Averaged over classes, a generator that ignores the label scores
    the chance level 1/K (each class's share is then how often the classifier says it), whatever its samples."""
    probs = _as_tensor(fake_probs)
    predicted, asked = probs.argmax(1), torch.as_tensor(asked).long()
    if len(asked) != len(predicted):
        raise ValueError(f"{len(asked)} asked classes for {len(predicted)} samples")
    if len(asked) and int(asked.max()) >= probs.shape[1]:
        raise ValueError(f"class {int(asked.max())} was asked for, but the classifier knows {probs.shape[1]} classes")
    return [float((predicted[asked == k] == k).double().mean()) for k in asked.unique().tolist()]
