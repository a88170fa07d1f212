"""Which variant is better, and how sure: pairwise differences over seeds, Holm-corrected, in plain sentences.

For one dataset and one metric, every pair of variants gets the difference of their means over seeds with a 95%
Welch interval and the p-value of Welch's unequal-variance t-test (seeds of different variants are independent
runs with possibly different spreads). The p-values of all pairs are corrected together with Holm's step-down
method, which keeps the chance of any false "better" at 5% without Bonferroni's loss of power. When neither
variant's seeds vary at all (8 of 8 modes every time) the t statistic is undefined, and the exact two-sided
permutation test over the seeds' labels is used instead; with 3 seeds each it can never go below p = 0.1, which
is exactly how sure 3 identical-looking seeds can make anyone.

A sentence names the best variant, the variants it beats at Holm-corrected p < 0.05, and those it cannot be told
apart from with the seeds there are; with fewer than 3 seeds it says the intervals cannot separate anything and
how many seeds the observed spread would need.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from wganlab.study.numbers import metric_info, p_text, value_text

ALPHA = 0.05
POWER = 0.8
MIN_SEEDS = 3  # below this the sentences say that nothing can be separated
MAX_SEEDS_SUGGESTED = 1000


@dataclass(frozen=True)
class PairComparison:
    """``first`` minus ``second`` over seeds."""

    first: str
    second: str
    difference: float
    low: float
    high: float
    p_value: float  # raw, two-sided
    p_holm: float  # Holm-corrected over every pair of the same dataset and metric
    test: str  # "welch" or "permutation"
    n_first: int
    n_second: int

    @property
    def significant(self) -> bool:
        return self.p_holm < ALPHA


@dataclass(frozen=True)
class Ranking:
    """Variants of one dataset ordered best first by one metric, with every pair compared."""

    dataset: str
    metric: str
    order: list[tuple[str, float, int]]  # (variant, mean, seeds), best first
    pairs: list[PairComparison]
    total: int | None = None  # modes_total / classes_total for counts ("7.7 of 8")

    def pair(self, a: str, b: str) -> PairComparison | None:
        """The comparison of ``a`` and ``b`` oriented as ``a - b``."""
        for pair in self.pairs:
            if (pair.first, pair.second) == (a, b):
                return pair
            if (pair.first, pair.second) == (b, a):
                return _flipped(pair)
        return None


def welch(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float, float, str]:
    """Mean difference a - b, its Welch interval (Welch–Satterthwaite degrees of freedom) and two-sided p-value.

    Falls back to the exact permutation test when both samples are constant (Welch's t is 0/0 there).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    difference = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return difference, math.nan, math.nan, math.nan, "welch"
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    if va + vb == 0:
        return difference, difference, difference, permutation_p(a, b), "permutation"
    se = math.sqrt(va + vb)
    with warnings.catch_warnings():  # nearly equal seeds: SciPy warns about precision, the p-value is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df) * se)
    return difference, difference - half, difference + half, p, "welch"


def permutation_p(a: np.ndarray, b: np.ndarray) -> float:
    """Exact two-sided permutation p-value of the difference in means (every relabelling of the seeds)."""
    result = stats.permutation_test((a, b), lambda x, y: np.mean(x) - np.mean(y), permutation_type="independent",
                                    alternative="two-sided", n_resamples=np.inf)
    return float(result.pvalue)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment: the i-th smallest of m p-values times (m - i), made monotone, capped at 1.
    NaN p-values (pairs with a single seed) are left out of m and stay NaN."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if math.isfinite(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def rank_variants(dataset: str, metric: str, values: dict[str, list[float]],
                  total: int | None = None) -> Ranking:
    """Order the variants by their mean (best first) and compare every pair, Holm-corrected together."""
    lower = metric_info(metric).lower_is_better
    clean = {k: np.asarray([v for v in vs if v is not None and math.isfinite(v)], dtype=np.float64)
             for k, vs in values.items()}
    clean = {k: v for k, v in clean.items() if len(v)}
    order = sorted(((k, float(v.mean()), len(v)) for k, v in clean.items()), key=lambda t: t[1] if lower else -t[1])
    raw = []
    for (a, _, _), (b, _, _) in itertools.combinations(order, 2):
        raw.append((a, b, *welch(clean[a], clean[b])))
    corrected = holm([r[5] for r in raw])
    pairs = [PairComparison(a, b, d, lo, hi, p, ph, test, len(clean[a]), len(clean[b]))
             for (a, b, d, lo, hi, p, test), ph in zip(raw, corrected, strict=True)]
    return Ranking(dataset, metric, order, pairs, total)


def seeds_needed(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Seeds per variant for a two-sided Welch test at ``alpha`` to detect the observed difference of means with
    probability ``power``, if the observed spread is the true one (noncentral t). None when there is no
    difference to detect or no spread to estimate it from."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return None
    difference = abs(a.mean() - b.mean())
    variance = (a.var(ddof=1) + b.var(ddof=1)) / 2
    if difference == 0 or variance == 0:
        return None if difference == 0 else max(len(a), len(b))
    effect = difference / math.sqrt(variance)
    for n in range(2, MAX_SEEDS_SUGGESTED + 1):
        df = 2 * n - 2
        critical = stats.t.ppf(1 - alpha / 2, df)
        shift = effect * math.sqrt(n / 2)
        achieved = stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)
        if achieved >= power:
            return n
    return None


def verdict(ranking: Ranking, values: dict[str, list[float]]) -> str:
    """One plain sentence: who is best on this dataset by this metric, whom it beats and how sure we are."""
    info = metric_info(ranking.metric)
    if not ranking.order:
        return f"{ranking.dataset}: no finished run reports {info.label}."
    seeds = sorted({n for _, _, n in ranking.order})
    seed_text = _seeds_text(seeds)
    if len(ranking.order) == 1:
        name, mean, _ = ranking.order[0]
        return f"{ranking.dataset}: only {name} has finished ({_value(ranking, mean)}, {seed_text})."
    best, best_mean, _ = ranking.order[0]
    others = ranking.order[1:]
    if min(seeds) < MIN_SEEDS:
        runner_up = others[0][0]
        needed = seeds_needed(values[best], values[runner_up])
        need = (f"; the observed spread would need about {needed} seeds per variant to tell {best} from "
                f"{runner_up}" if needed else "")
        return (f"{ranking.dataset}: {best} {_best_phrase(info)} ({_value(ranking, best_mean)}, next "
                f"{runner_up} {_value(ranking, others[0][1])}), but with {seed_text} the intervals cannot "
                f"separate any two variants{need}.")
    beaten = [(name, mean, ranking.pair(best, name)) for name, mean, _ in others]
    worse = [(n, m, p) for n, m, p in beaten if p is not None and p.significant]
    tied = [(n, m, p) for n, m, p in beaten if p is None or not p.significant]
    if not worse:
        separable = _separable_pairs(ranking)
        if not separable:
            return (f"{ranking.dataset}: no difference in {info.label} is detectable between the "
                    f"{len(ranking.order)} variants with {seed_text} (best mean: {best}, "
                    f"{_value(ranking, best_mean)}).")
        # The best mean beats nobody detectably, yet lower-ranked pairs may separate: say both, or the sentence
        # would deny a difference that the pairs table shows.
        return (f"{ranking.dataset}: {best} has the best mean ({_value(ranking, best_mean)}), but with {seed_text} "
                f"no difference from the others is detectable; of the other pairs, {_join(separable)}; p-values "
                "Holm-corrected.")
    first = worse[0]
    compared = [f"{first[0]} ({_value(ranking, best_mean, short=True)} vs {_value(ranking, first[1], short=True)}"
                f"{_of_total(ranking)}, {p_text(first[2].p_holm)})"]
    compared += [f"{n} (vs {_value(ranking, m, short=True)}, {p_text(p.p_holm)})" for n, m, p in worse[1:]]
    sentence = f"{ranking.dataset}: {best} {_better_phrase(info)} {_join(compared)}"
    if tied:
        sentence += "; no difference from " + _join([f"{n} ({_value(ranking, m, short=True)}, "
                                                     f"{p_text(p.p_holm) if p else 'p = –'})" for n, m, p in tied])
        sentence += " is detectable"
    sentence += f" ({seed_text}, Holm-corrected)"
    return sentence + "."


def _separable_pairs(ranking: Ranking) -> list[str]:
    """Each pair that the corrected test separates, as 'A has a lower FID than B (40 vs 180, p = 0.03)'."""
    info = metric_info(ranking.metric)
    means = {name: mean for name, mean, _ in ranking.order}
    rank = {name: i for i, (name, _, _) in enumerate(ranking.order)}
    phrases = []
    for pair in ranking.pairs:
        if not pair.significant:
            continue
        better, worse = sorted((pair.first, pair.second), key=rank.__getitem__)
        phrases.append(f"{better} {_better_phrase(info)} {worse} ({_value(ranking, means[better], short=True)} vs "
                       f"{_value(ranking, means[worse], short=True)}{_of_total(ranking)}, {p_text(pair.p_holm)})")
    return phrases


def _best_phrase(info) -> str:
    if info.noun:
        return f"covers the most {info.noun}"
    return f"has the {'lowest' if info.lower_is_better else 'highest'} {info.label}"


def _better_phrase(info) -> str:
    if info.noun:
        return f"covers more {info.noun} than"
    return f"has a {'lower' if info.lower_is_better else 'higher'} {info.label} than"


def _value(ranking: Ranking, value: float, short: bool = False) -> str:
    info = metric_info(ranking.metric)
    text = value_text(value, ranking.metric)
    if info.count and ranking.total:
        return f"{text} of {ranking.total}" if not short else text
    return text if short or info.noun else f"{info.label} {text}"


def _of_total(ranking: Ranking) -> str:
    return f" of {ranking.total}" if metric_info(ranking.metric).count and ranking.total else ""


def _seeds_text(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return f"{seeds[0]} seed{'s' if seeds[0] != 1 else ''}"
    return f"{seeds[0]}–{seeds[-1]} seeds"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _flipped(pair: PairComparison) -> PairComparison:
    return PairComparison(pair.second, pair.first, -pair.difference, -pair.high, -pair.low, pair.p_value,
                          pair.p_holm, pair.test, pair.n_second, pair.n_first)
