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


def kid(real: np.ndarray | torch.Tensor, fake: np.ndarray | torch.Tensor, subsets: int = 100,
        subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(mean, std) of the unbiased MMD² over ``subsets`` random subsets of ``subset_size`` from each set.

    A set smaller than the subset size is an error, as in torch-fidelity: drawing "subsets" of every row would
    repeat one number ``subsets`` times and report a spread of 0. :func:`kid_subset_size` picks a size that fits.
    """
    from wganlab.errors import ConfigError

    x, y = _as_tensor(real), _as_tensor(fake)
    if min(len(x), len(y)) < subset_size or subset_size < 2:
        raise ConfigError(f"KID needs at least {subset_size} samples in each set for subsets of {subset_size}, got "
                          f"{len(x)} real and {len(y)} generated; generate more samples or use a smaller subset size")
    m = subset_size
    rng = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        a = x[torch.randperm(len(x), generator=rng)[:m]]
        b = y[torch.randperm(len(y), generator=rng)[:m]]
        values.append(mmd2_unbiased(a, b))
    return float(np.mean(values)), float(np.std(values))


def kid_subset_size(n_real: int, n_fake: int, preferred: int = 1000) -> int:
    """The customary 1,000 where both sets have that many; otherwise half the smaller set, so that the subsets
    differ and their spread means something (the size is reported beside the value)."""
    smaller = min(n_real, n_fake)
    return preferred if smaller >= preferred else max(2, smaller // 2)


def mmd2_unbiased(a: torch.Tensor, b: torch.Tensor) -> float:
    """Unbiased MMD² of two equal-size sets with k(x, y) = (xᵀy / d + 1)³ (diagonals left out)."""
    d, m = a.shape[1], len(a)
    k_aa, k_bb, k_ab = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    within = (k_aa.sum() - k_aa.diagonal().sum() + k_bb.sum() - k_bb.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_ab.mean())


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
