"""The verdict of each kind of claim test (``reaches``, ``beats``, ``worse_on``, ``alike``, ``improves``; see
:mod:`wganlab.study.reproduction`), each read from a study's results for one dataset, with the sentence that says
what it measured."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

import numpy as np

from wganlab.errors import WganlabError
from wganlab.study.aggregate import TOTALS, StudyResults, run_value, t_interval
from wganlab.study.compare import ALPHA, MIN_SEEDS, goal_share, goal_text, holm, rank_variants
from wganlab.study.intervals import paired_p
from wganlab.study.numbers import metric_info, p_text, plus_minus, value_text

AGREES, DISAGREES, UNSEPARATED, UNMEASURED = "agrees", "disagrees", "not separable", "not measured"
NOT_REPRODUCED = "not reproduced"  # would disagree, but the runs were still improving when they stopped
VERDICTS = (AGREES, DISAGREES, NOT_REPRODUCED, UNSEPARATED, UNMEASURED)


def overall(verdicts: Iterable[str]) -> str:
    """Several parts of one claim (datasets, variants, pairs): one disagreeing part decides, all must agree."""
    verdicts = set(verdicts)
    return DISAGREES if DISAGREES in verdicts else AGREES if verdicts == {AGREES} else UNSEPARATED


def goal_is_low(test: dict[str, Any]) -> bool:
    """Whether a ``reaches`` test's goal is to be at or below its threshold (``at_most``, a multiple of the
    sampling floor) rather than at or above it (``at_least``, all modes): the goal's own side, not the metric's
    direction ("an error of at least 0.2" is a lower-is-better metric)."""
    return "at_most" in test or "floor_multiple" in test


def reaches_goal(test: dict[str, Any], dataset: str, runs: list, results: StudyResults) -> tuple[float, str, bool]:
    """A ``reaches`` test's threshold on ``dataset``, its text, and whether the goal is to be at or below it."""
    metric, low = test["metric"], goal_is_low(test)
    if "floor_multiple" in test:
        floor = real_floor(dataset, metric, results.manifest.get("evaluation_samples", 2000))
        threshold = float(test["floor_multiple"]) * floor
        return threshold, (f"≤ {value_text(threshold, metric)} ({test['floor_multiple']} × real-vs-real "
                           f"{value_text(floor, metric)})"), low
    if test.get("at_least") == "all":  # every mode (or class) of the dataset: the total its runs report
        total = next((r.result["final"].get(TOTALS[metric]) for r in runs if r.labels["data"] == dataset), None)
        if total is None:
            raise WganlabError(f"'at_least: all' needs a count metric with a total (modes_covered), not {metric}")
        return float(total), f"all {total}", low
    threshold = float(test.get("at_most", test.get("at_least")))
    return threshold, f"{'≤' if low else '≥'} {value_text(threshold, metric)}", low


MAX_SEEDS_LISTED = 10  # a threshold no interval decides lists its seeds' values up to this many


def judged_seed_by_seed(test: dict[str, Any]) -> bool:
    """Whether a ``reaches`` test counts the seeds that reach its goal (a bounded count such as modes covered,
    often bimodal over seeds) instead of placing a t-interval against it."""
    return test.get("at_least") == "all" or (metric_info(test["metric"]).count and "at_least" in test)


def judge_reaches(test: dict[str, Any], dataset: str, runs: list, results: StudyResults) -> tuple[str, str]:
    metric = test["metric"]
    info = metric_info(metric)
    threshold, bound, wants_low = reaches_goal(test, dataset, runs, results)
    parts, verdicts = [], []
    for variant in test["variants"]:
        values = [run_value(r, metric) for r in runs if r.labels["data"] == dataset and r.labels["variant"] == variant]
        values = [v for v in values if v is not None]
        if judged_seed_by_seed(test):
            # A bounded count is often bimodal over seeds (8, 8, 0), which a t-interval misdescribes: judged by
            # how many seeds reach the goal, with the exact interval of that share. Every seed of at least 3
            # agrees, none disagrees; some but not all: the claim holds on some seeds, not separable.
            k, n, low, high = goal_share(values, threshold)
            parts.append(f"{variant}: {k} of {n} seeds (95% exact interval {round(100 * low)}–{round(100 * high)}%)")
            verdicts.append(AGREES if n >= MIN_SEEDS and k == n else
                            DISAGREES if n >= MIN_SEEDS and k == 0 else UNSEPARATED)
            continue
        interval = t_interval(values)
        good_side = (interval.high <= threshold) if wants_low else (interval.low >= threshold)
        bad_side = (interval.low > threshold) if wants_low else (interval.high < threshold)
        verdicts.append(AGREES if interval.n > 1 and good_side else DISAGREES if interval.n > 1 and bad_side
                        else UNSEPARATED)
        # an interval across the goal may describe no run (seeds split between both sides): say each seed's
        seeds = (f" (by seed: {', '.join(value_text(v, metric) for v in values)})"
                 if verdicts[-1] == UNSEPARATED and 1 < len(values) <= MAX_SEEDS_LISTED else "")
        parts.append(f"{variant} {interval.text(metric, goal=threshold)}{seeds}")
    verdict = overall(verdicts)
    return f"{dataset} {info.label} (goal {bound}): {', '.join(parts)}", verdict


def judge_beats(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """Each ``better`` variant against each ``worse`` one (either may be a list: "WGAN-GP is slower" is WGAN-GP
    worse than each of the others); agrees only when every pair separates the claimed way. The Holm family is
    these pairs alone, not the study's other variants."""
    metric = test["metric"]
    info = metric_info(metric)
    values, total, claimed, ranking = _claimed_pairs(test, dataset, runs)
    means = {name: mean for name, mean, _ in ranking.order}
    parts, verdicts = [], []
    for better, worse in claimed:
        pair = ranking.pair(better, worse)
        if pair is None:
            parts.append(f"{better} or {worse} has no {metric}")
            verdicts.append(UNSEPARATED)
            continue
        goal = (f" ({goal_text(values[better], total, info.noun)}; {goal_text(values[worse], total, info.noun)})"
                if total and info.count else "")
        verdict = _pair_verdict(pair, info)
        within = (f", within the {info.tolerance:.0%} that study runs move a ratio of two variants' times by"
                  if pair.held_by_tolerance else "")
        parts.append(f"{better} {value_text(means[better], metric)} vs {worse} {value_text(means[worse], metric)}, "
                     f"difference {signed_text(pair, metric)}, {p_text(pair.p_holm)} ({_test_name(pair)})"
                     f"{within}{goal}")
        verdicts.append(verdict)
    family = f" [Holm over the claim's {len(claimed)} pairs]" if len(claimed) > 1 else ""
    where = f" at step {test['at_step']:,} (in-training evaluation)" if "at_step" in test else ""
    return f"{dataset} {info.label}{where}: {'; '.join(parts)}{family}", overall(verdicts)


def _claimed_pairs(test: dict[str, Any], dataset: str, runs: list) -> tuple[dict, Any, list, Any]:
    """(values per variant, the count's total if any, the claimed (better, worse) pairs, their ranking with Holm
    over those pairs alone) of a ``beats`` test on one dataset."""
    metric = test["metric"]
    read = (lambda run: _logged_at(run, metric, test["at_step"])) if "at_step" in test else \
        (lambda run: run_value(run, metric))
    values = {variant: [v for v in (read(r) for r in runs
                                    if r.labels["data"] == dataset and r.labels["variant"] == variant)
                        if v is not None]
              for variant in [*variant_names(test["better"]), *variant_names(test["worse"])]}
    values = {k: v for k, v in values.items() if v}
    total = next((((r.result or {}).get("final") or {}).get(TOTALS[metric]) for r in runs if metric in TOTALS), None)
    claimed = [(b, w) for b in variant_names(test["better"]) for w in variant_names(test["worse"])]
    return values, total, claimed, rank_variants(dataset, metric, values, total, pairs=claimed)


def _pair_verdict(pair: Any, info: Any) -> str:
    better_is_better = (pair.difference < 0) == info.lower_is_better
    return UNSEPARATED if not pair.significant else AGREES if better_is_better else DISAGREES


def refuting_variants(test: dict[str, Any], dataset: str, runs: list, results: StudyResults) -> list[tuple[str, ...]]:
    """The variants each disagreeing part of a test on ``dataset`` rests on: a variant alone for ``reaches`` and
    ``improves``, a pair for ``beats`` (a claimed pair separated the wrong way) and ``alike`` (a pair separated
    at some step). A refutation stands only on these runs, so only their curves must have levelled."""
    kind = test["kind"]
    if kind == "reaches":
        return [(v,) for v in test["variants"]
                if judge_reaches({**test, "variants": [v]}, dataset, runs, results)[1] == DISAGREES]
    if kind == "improves":  # with the Holm family of the whole claim, as its verdict was decided
        return [(v,) for v, _, verdict in _improves_parts(test, dataset, runs)[0] if verdict == DISAGREES]
    if kind == "beats":
        _, _, claimed, ranking = _claimed_pairs(test, dataset, runs)
        info = metric_info(test["metric"])
        return [(b, w) for b, w in claimed
                if (pair := ranking.pair(b, w)) is not None and _pair_verdict(pair, info) == DISAGREES]
    if kind == "alike":
        separated = {(p.first, p.second) for _, _, ranking in _alike_rankings(test, dataset, runs)
                     for p in ranking.pairs if p.significant}
        return sorted(separated)
    raise WganlabError(f"no refuting parts for a '{kind}' test on one dataset")


def _logged_at(run: Any, metric: str, step: int) -> float | None:
    """The run's in-training ``metric`` logged at ``step`` (finished or not), None if it never got there."""
    found = [r[metric] for r in run.metrics if r.get("step") == step and isinstance(r.get(metric), (int, float))]
    return float(found[-1]) if found else None


def _test_name(pair: Any) -> str:
    tested = "Welch" if pair.test == "welch" else "exact permutation test"
    return f"{tested}, Holm" if pair.family > 1 else tested


def judge_worse_on(test: dict[str, Any], runs: list, results: StudyResults) -> tuple[str, str]:
    """One variant's metric relative to the sampling floor (the metric between two real samples) on ``better_on``
    against ``worse_on``: the claim that the second dataset is learned less well. Welch over seeds."""
    metric, variant = test["metric"], variant_names(test["variant"])[0]
    samples = results.manifest.get("evaluation_samples", 2000)
    ratios = {}
    for dataset in (test["better_on"], test["worse_on"]):
        floor = real_floor(dataset, metric, samples)
        ratios[dataset] = [v / floor for v in (run_value(r, metric) for r in runs
                                               if r.labels["data"] == dataset and r.labels["variant"] == variant)
                           if v is not None]
    ranking = rank_variants("", metric, ratios)
    pair = ranking.pair(test["worse_on"], test["better_on"])
    info = metric_info(metric)
    if pair is None:
        return f"{variant} has no {metric} on both datasets", UNSEPARATED
    texts = ", ".join(f"{d} {t_interval(v).text()}" for d, v in ratios.items())
    worse_is_worse = (pair.difference > 0) == info.lower_is_better
    verdict = UNSEPARATED if not pair.significant else AGREES if worse_is_worse else DISAGREES
    return (f"{variant}'s {info.label} as a multiple of two real samples' (the sampling floor): {texts}; "
            f"difference ({test['worse_on']} − {test['better_on']}) {signed_text(pair, '')}, "
            f"{p_text(pair.p_holm)} ({_test_name(pair)})"), verdict


def train_seconds(run: Any) -> float:
    """A run's share of the training time. A finished stacked seed's result holds its share already (beside
    ``stack_train_seconds``); an unfinished run's is its last logged ``seconds``, which for a seed trained in a
    stack of S (``stacked_seeds`` in its run.json) are the stack's, so its share is 1/S."""
    result = run.result
    if result is not None and ("stack_train_seconds" in result or "stacked_seeds" not in result):
        return float(result.get("train_seconds", 0.0))
    if result is not None:  # a stacked seed's result from before shares were written: the stack's seconds
        return float(result.get("train_seconds", 0.0)) / int(result["stacked_seeds"])
    logged = [r["seconds"] for r in run.metrics if isinstance(r.get("seconds"), (int, float))]
    stacked = int(run.run_info.get("stacked_seeds", 1))
    return (float(logged[-1]) if logged else 0.0) / stacked


def judge_alike(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """The variants' logged ``metric`` at each of ``steps``: every pair compared over seeds (Welch, Holm over the
    pairs of one step). Some pair separated at some step disagrees with "alike"; nothing separated is only
    "not separable"."""
    metric, info = test["metric"], metric_info(test["metric"])
    parts, verdicts = [], []
    for step, values, ranking in _alike_rankings(test, dataset, runs):
        if len(ranking.order) < 2:
            parts.append(f"step {step}: fewer than two variants logged {metric}")
            verdicts.append(UNSEPARATED)
            continue
        means = ", ".join(f"{name} {t_interval(values[name]).text(metric)}" for name, _, _ in ranking.order)
        separated = [p for p in ranking.pairs if p.significant]
        pairs = "; ".join(f"{p.first} vs {p.second} {p_text(p.p_holm)}" for p in separated)
        parts.append(f"At step {step} ({ranking.order[0][2]} seeds): {means}; {len(separated)} of "
                     f"{len(ranking.pairs)} pairs separate (Holm){': ' + pairs if pairs else ''}")
        verdicts.append(DISAGREES if separated else UNSEPARATED)
    return f"{dataset} {info.label} during training: {'. '.join(parts)}", overall(verdicts)


def _alike_rankings(test: dict[str, Any], dataset: str, runs: list) -> Iterable[tuple[int, dict, Any]]:
    """(step, values per variant, ranking of every pair with Holm over that step's pairs) for each step an
    ``alike`` test reads."""
    metric = test["metric"]
    for step in test["steps"]:
        values = {variant: [record[metric] for run in runs
                            if run.labels["data"] == dataset and run.labels["variant"] == variant
                            for record in run.metrics
                            if record.get("step") == step and isinstance(record.get(metric), (int, float))]
                  for variant in test["variants"]}
        yield step, values, rank_variants(dataset, metric, {k: v for k, v in values.items() if v})


def variant_names(value: str | list[str]) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def judge_improves(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """``metric`` against ``baseline`` within each run (paired over seeds: e.g. a classifier's accuracy with
    generated rows added against the same run's real-only accuracy): agrees when the paired t-test separates the
    differences from 0 on the better side at Holm-corrected p < 0.05, disagrees when on the worse side. The Holm
    family is the claim's variants on this dataset, as ``beats`` takes the claim's own pairs."""
    parts, family_size = _improves_parts(test, dataset, runs)
    info = metric_info(test["metric"])
    family = f" [Holm over the claim's {family_size} variants]" if family_size > 1 else ""
    return (f"{dataset} {info.label} against {metric_info(test['baseline']).label}: "
            f"{'; '.join(text for _, text, _ in parts)}{family}"), overall(v for _, _, v in parts)


def _improves_parts(test: dict[str, Any], dataset: str, runs: list) -> tuple[list[tuple[str, str, str]], int]:
    """(variant, text, verdict) of each variant of an ``improves`` test on one dataset, and the size of their Holm
    family (the variants with a p-value: at least 2 seeds)."""
    metric, baseline = test["metric"], test["baseline"]
    info = metric_info(metric)
    better = -1.0 if info.lower_is_better else 1.0
    measured = []
    for variant in test["variants"]:
        pairs = [(run_value(r, metric), run_value(r, baseline)) for r in runs
                 if r.labels["data"] == dataset and r.labels["variant"] == variant]
        differences = np.array([a - b for a, b in pairs if a is not None and b is not None], dtype=np.float64)
        differences = differences[np.isfinite(differences)]
        measured.append((variant, pairs, differences, paired_p(differences)))
    adjusted = holm([p for *_, p in measured])
    tested = sum(bool(np.isfinite(p)) for *_, p in measured)
    parts = []
    for (variant, pairs, differences, _), p_holm in zip(measured, adjusted, strict=True):
        interval = t_interval(differences)
        verdict = UNSEPARATED if not p_holm < ALPHA else AGREES if better * interval.mean > 0 else DISAGREES
        mean_metric = float(np.mean([a for a, _ in pairs if a is not None])) if pairs else float("nan")
        mean_base = float(np.mean([b for _, b in pairs if b is not None])) if pairs else float("nan")
        test_name = "paired t-test, Holm" if tested > 1 else "paired t-test"
        parts.append((variant, f"{variant} {value_text(mean_metric, metric)} vs {value_text(mean_base, baseline)}, "
                               f"paired difference {interval.text(metric, difference=True)}, {p_text(p_holm)} "
                               f"({test_name})", verdict))
    return parts, tested


@functools.cache  # a pure function of its arguments (fixed draws), asked again by every row on the dataset


def real_floor(dataset: str, metric: str, samples: int) -> float:
    """The metric between two independent real samples of the evaluation's size: what a perfect generator gets."""
    if metric != "w1":
        raise WganlabError(f"floor_multiple is defined for w1 only, not {metric}")
    import torch

    from wganlab.config import DataConfig
    from wganlab.data.sources import make_source
    from wganlab.fileio import isolated_rng
    from wganlab.metrics.toy import wasserstein1_exact

    source = make_source(DataConfig(name=dataset), torch.device("cpu"))
    count = min(samples, 5000)  # as the evaluation does
    with isolated_rng(0):
        reference = source.sample(count)  # the same reference points the runs were measured against
    with isolated_rng(1):
        other = source.sample(count)
    return wasserstein1_exact(other, reference)


def signed_text(pair, metric: str) -> str:
    return plus_minus(pair.difference, (pair.high - pair.low) / 2, metric)
