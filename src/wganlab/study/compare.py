"""Which variant is better, and how sure: pairwise differences over seeds, Holm-corrected, in plain sentences.

For one dataset and one metric, every pair of variants gets the difference of their means over seeds with a 95%
Welch interval and the p-value of Welch's unequal-variance t-test (seeds of different variants are independent
runs with possibly different spreads). Counts bounded by a total (modes or classes covered) are often bimodal
over seeds (8, 8, 0 of 8), which no t-test models: they are compared by the exact permutation test of the means,
which assumes nothing about their distribution, and summarised as "k of n seeds cover all 8" with a
Clopper–Pearson interval. When neither variant's seeds vary at all the t statistic is undefined, and the exact
permutation test is used too; with 3 seeds each it can never go below p = 0.1, which is exactly how sure 3
identical-looking seeds can make anyone, and the sentence then says so and how many seeds would allow a verdict.

The p-values of a family are corrected together with Holm's step-down method, which keeps the chance of any false
"better" at 5% without Bonferroni's loss of power. The family is what one question compares: in a report every
pair of one dataset and metric, in a claim only the claim's own pairs (:func:`rank_variants` ``pairs``).

Each pair's decision (:attr:`PairComparison.decision`: different, not separable, or too few seeds) is made once,
here; the sentence, the ranking, the pairs table and the reproduction rows all read it, so they cannot disagree.
Fewer than 3 seeds per variant decide nothing: Welch's test on 2 seeds has about 1 degree of freedom and rests
entirely on normality, so such pairs are "too few seeds" everywhere, with the seeds the observed spread would need.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from wganlab.study.numbers import metric_info, number, p_text, value_text

ALPHA = 0.05
POWER = 0.8
MIN_SEEDS = 3  # below this no pair is decided, in the sentences and the tables alike
MAX_SEEDS_SUGGESTED = 1000
EXACT_LIMIT = 200_000  # relabellings enumerated by the exact permutation test; beyond, a fixed Monte Carlo draw
MONTE_CARLO_RESAMPLES = 99_999
DIFFERENT, NOT_SEPARABLE, TOO_FEW_SEEDS = "different", "not separable", "too few seeds"


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
    family: int = 1  # pairs corrected together by Holm
    within_tolerance: bool = False  # the means differ by no more than the metric's tolerance (MetricInfo)

    @property
    def decision(self) -> str:
        """The one verdict on this pair that every view shows."""
        if min(self.n_first, self.n_second) < MIN_SEEDS:
            return TOO_FEW_SEEDS
        return DIFFERENT if self.p_holm < ALPHA and not self.within_tolerance else NOT_SEPARABLE

    @property
    def held_by_tolerance(self) -> bool:
        """Separated by its p-value alone, but by no more than the metric's tolerance: not a difference."""
        return self.within_tolerance and self.p_holm < ALPHA and min(self.n_first, self.n_second) >= MIN_SEEDS

    @property
    def significant(self) -> bool:
        return self.decision == DIFFERENT

    @property
    def undecidable(self) -> bool:
        """An exact test whose smallest possible p, times Holm's factor, is not below 5%: these seeds can never
        separate this pair, whatever they show."""
        return self.test == "permutation" and self.family * permutation_floor(self.n_first, self.n_second) >= ALPHA


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


def pair_test(a: np.ndarray, b: np.ndarray, metric: str) -> tuple[float, float, float, float, str]:
    """Difference a - b, its 95% interval and two-sided p-value by the test that fits the metric: the exact
    permutation test for bounded counts (no interval: it is a test of the means, not a t-interval), else Welch."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if metric_info(metric).count and len(a) >= 2 and len(b) >= 2:
        difference = float(a.mean() - b.mean())
        return difference, math.nan, math.nan, permutation_p(a, b), "permutation"
    return welch(a, b)


def permutation_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided permutation p-value of the difference in means: every relabelling of the seeds while there are
    at most :data:`EXACT_LIMIT`, else a fixed-seed Monte Carlo draw of them."""
    exact = math.comb(len(a) + len(b), len(a)) <= EXACT_LIMIT
    result = stats.permutation_test((a, b), _mean_difference, permutation_type="independent", vectorized=True,
                                    alternative="two-sided", n_resamples=np.inf if exact else MONTE_CARLO_RESAMPLES,
                                    rng=np.random.default_rng(0))
    return float(result.pvalue)


def _mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def permutation_floor(n_first: int, n_second: int) -> float:
    """The smallest two-sided p-value the exact permutation test can give with these seeds: the observed labelling
    and its mirror out of C(n1 + n2, n1) (2 of 20 for 3 vs 3: 0.1; 2 of 6 for 2 vs 2: 0.33)."""
    return min(1.0, 2 / math.comb(n_first + n_second, n_first))


def seeds_for_exact_verdict(family: int = 1, alpha: float = ALPHA) -> int:
    """Seeds per variant at which the exact test could separate perfectly separated seeds at Holm's first step."""
    n = 2
    while family * permutation_floor(n, n) >= alpha:
        n += 1
    return n


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


def rank_variants(dataset: str, metric: str, values: dict[str, list[float]], total: int | None = None,
                  pairs: list[tuple[str, str]] | None = None) -> Ranking:
    """Order the variants by their mean (best first) and compare every pair, or only ``pairs`` (a claim's own
    comparisons), Holm-corrected together as one family."""
    info = metric_info(metric)
    lower = info.lower_is_better
    clean = {k: np.asarray([v for v in vs if v is not None and math.isfinite(v)], dtype=np.float64)
             for k, vs in values.items()}
    clean = {k: v for k, v in clean.items() if len(v)}
    order = sorted(((k, float(v.mean()), len(v)) for k, v in clean.items()), key=lambda t: t[1] if lower else -t[1])
    rank = {name: i for i, (name, _, _) in enumerate(order)}
    wanted = (itertools.combinations([name for name, _, _ in order], 2) if pairs is None else
              [tuple(sorted(pair, key=rank.__getitem__)) for pair in pairs if set(pair) <= set(rank)])
    raw = [(a, b, *pair_test(clean[a], clean[b], metric)) for a, b in wanted]
    corrected = holm([r[5] for r in raw])
    family = sum(math.isfinite(r[5]) for r in raw)
    compared = [PairComparison(a, b, d, lo, hi, p, ph, test, len(clean[a]), len(clean[b]), max(family, 1),
                               _within_tolerance(clean[a].mean(), clean[b].mean(), info.tolerance))
                for (a, b, d, lo, hi, p, test), ph in zip(raw, corrected, strict=True)]
    return Ranking(dataset, metric, order, compared, total)


def _within_tolerance(a: float, b: float, tolerance: float) -> bool:
    """Whether the larger of two means of one sign exceeds the smaller by no more than ``tolerance`` of it (means
    of opposite signs, or one of them 0, are never within: a relative tolerance says nothing about them)."""
    if tolerance <= 0 or a * b <= 0:
        return tolerance > 0 and a == b == 0
    low, high = sorted((abs(a), abs(b)))
    return bool(high <= low * (1 + tolerance))


def seeds_needed(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA, power: float = POWER,
                 family: int = 1, exact: bool = False) -> int | None:
    """Seeds per variant for a two-sided Welch test to detect the observed difference of means with probability
    ``power``, if the observed spread is the true one (noncentral t), at Holm's strictest level ``alpha / family``
    (the level the smallest of ``family`` p-values must pass). When neither variant's seeds vary, the exact
    permutation test decides: the seeds at which its smallest p passes; and ``exact`` (a count compared by that
    test) never asks for fewer. None when there is no difference."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        return None
    level = alpha / max(family, 1)
    difference = abs(a.mean() - b.mean())
    variance = (a.var(ddof=1) + b.var(ddof=1)) / 2
    if difference == 0:
        return None
    floor = seeds_for_exact_verdict(family, alpha)
    if variance == 0:
        return floor
    effect = difference / math.sqrt(variance)
    for n in range(2, MAX_SEEDS_SUGGESTED + 1):
        df = 2 * n - 2
        critical = stats.t.ppf(1 - level / 2, df)
        shift = effect * math.sqrt(n / 2)
        achieved = stats.nct.sf(critical, df, shift) + stats.nct.cdf(-critical, df, shift)
        if achieved >= power:
            return max(n, floor) if exact else n
    return None


def goal_share(values: list[float], goal: float) -> tuple[int, int, float, float]:
    """How many of the seeds reach ``goal`` (all 8 modes), with the exact Clopper–Pearson 95% interval of the
    share: ``(k, n, low, high)``."""
    n = len(values)
    k = sum(1 for v in values if v >= goal)
    if n == 0:
        return 0, 0, math.nan, math.nan
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return k, n, float(ci.low), float(ci.high)


def goal_text(values: list[float], total: int, noun: str = "modes") -> str:
    """``4 of 5 seeds cover all 8 modes (95% exact interval 28–99%)``."""
    k, n, low, high = goal_share(values, total)
    seeds = "seed covers" if n == 1 and k <= 1 else "seeds cover"
    return (f"{k} of {n} {seeds} all {total} {noun} (95% exact interval {round(100 * low)}–"
            f"{round(100 * high)}%)")


def verdict(ranking: Ranking, values: dict[str, list[float]]) -> str:
    """One plain sentence: who is best on this dataset by this metric, whom it beats and how sure we are. It reads
    each pair's :attr:`PairComparison.decision`, as the pairs table does."""
    info = metric_info(ranking.metric)
    if not ranking.order:
        return f"{_subject(ranking)}no finished run reports {info.label}."
    seeds = sorted({n for _, _, n in ranking.order})
    seed_text = _seeds_text(seeds)
    if len(ranking.order) == 1:
        name, mean, _ = ranking.order[0]
        return f"{_subject(ranking)}only {name} has finished ({_labelled(ranking, mean)}, {seed_text})."
    best, best_mean, _ = ranking.order[0]
    others = ranking.order[1:]
    lead = (f"{_subject(ranking)}{best} {_best_phrase(info)} ({_value(ranking, best_mean)}; next {others[0][0]}, "
            f"{_value(ranking, others[0][1])})")
    if min(seeds) < MIN_SEEDS:
        runner_up = others[0][0]
        family = max(len(ranking.pairs), 1)
        needed = seeds_needed(values[best], values[runner_up], family=family, exact=info.count)
        need = (f"; the observed spread would need about {needed} seeds per variant to tell {best} from "
                f"{runner_up}{_holm_note(family)}" if needed else "")
        return (f"{lead}, but with {seed_text} per variant no pair is decided (at least {MIN_SEEDS} each are "
                f"needed){need}.")
    beaten = [(name, mean, ranking.pair(best, name)) for name, mean, _ in others]
    worse = [(n, m, p) for n, m, p in beaten if p is not None and p.significant]
    tied = [(n, m, p) for n, m, p in beaten if p is None or not p.significant]
    if not worse:
        separable = _separable_pairs(ranking)
        floor = _floor_note(ranking, beaten)
        if not separable:
            return (f"{_subject(ranking)}no difference in {info.label} is detectable between the "
                    f"{len(ranking.order)} variants with {seed_text} (best mean: {best}, "
                    f"{_value(ranking, best_mean)}){floor}.")
        # The best mean beats nobody detectably, yet lower-ranked pairs may separate: say both, or the sentence
        # would deny a difference that the pairs table shows.
        return (f"{_subject(ranking)}{best} has the best mean ({_labelled(ranking, best_mean)}), but with {seed_text} "
                f"no difference from the others is detectable{floor}; of the other pairs, {_join(separable)}; "
                "p-values Holm-corrected.")
    first = worse[0]
    compared = [f"{first[0]} ({_value(ranking, best_mean, short=True)} vs {_value(ranking, first[1], short=True)}"
                f"{_of_total(ranking)}, {p_text(first[2].p_holm)})"]
    compared += [f"{n} (vs {_value(ranking, m, short=True)}, {p_text(p.p_holm)})" for n, m, p in worse[1:]]
    sentence = f"{_subject(ranking)}{best} {_better_phrase(info)} {_join(compared)}"
    if tied:
        sentence += "; no difference from " + _join([f"{n} ({_value(ranking, m, short=True)}, "
                                                     f"{p_text(p.p_holm) if p else 'p = –'})" for n, m, p in tied])
        sentence += " is detectable"
    sentence += f" ({seed_text}, Holm-corrected over {len(ranking.pairs)} pair{'s' if len(ranking.pairs) > 1 else ''})"
    return sentence + "."


def _subject(ranking: Ranking) -> str:
    """``mnist: `` before a sentence about one dataset; nothing in a study without a data axis."""
    return f"{ranking.dataset}: " if ranking.dataset else ""


def _holm_note(family: int) -> str:
    return f" at Holm's level for {family} pairs (0.05 / {family})" if family > 1 else ""


def _floor_note(ranking: Ranking, beaten: list) -> str:
    """Where the exact test could not have separated the best from the next whatever the seeds showed."""
    pair = beaten[0][2] if beaten else None
    if pair is None or not pair.undecidable:
        return ""
    floor = permutation_floor(pair.n_first, pair.n_second)
    return (f"; with these seeds the exact test's smallest p is {number(floor, 2)}"
            f"{f' (x {pair.family} pairs for Holm)' if pair.family > 1 else ''}, so no verdict was possible: "
            f"{seeds_for_exact_verdict(pair.family)} seeds each could give one")


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
    """A mean as the sentence shows it: ``7.5 of 8`` for a count with its total, else the number alone (the
    metric is named once, in the phrase before it)."""
    info = metric_info(ranking.metric)
    text = value_text(value, ranking.metric)
    if info.count and ranking.total and not short:
        return f"{text} of {ranking.total}"
    return text


def _labelled(ranking: Ranking, value: float) -> str:
    """``FID 39.9`` or ``7.5 of 8 modes covered``: a mean in a sentence that has not named the metric yet."""
    info = metric_info(ranking.metric)
    return f"{_value(ranking, value)} {info.label}" if info.count else f"{info.label} {_value(ranking, value)}"


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
                          pair.p_holm, pair.test, pair.n_second, pair.n_first, pair.family, pair.within_tolerance)
