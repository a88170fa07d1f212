"""Seeds-averaged results: mean, standard deviation and a 95% Student-t interval for every metric of every
experiment (runs that differ only by seed), and curves over steps and wall-clock time with interval bands.

Averaging is over seeds of the *final* checkpoint (and, side by side, of each run's best checkpoint): never the best
of N seeds, which is how the DTU study's repository made its headline numbers.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wganlab.fileio import read_json
from wganlab.metrics import critic_estimate
from wganlab.rundir.layout import RUN_INFO_FILE
from wganlab.rundir.log import read_metrics
from wganlab.study.compare import Ranking, rank_variants, verdict
from wganlab.study.intervals import t_interval
from wganlab.study.layout import RUNS_DIR, StudyChanged, read_manifest
from wganlab.study.spec import experiment_axes, experiment_of
from wganlab.study.task import config_differences, read_result, saved_config

# Metrics in table order, with whether lower is better. Anything else numeric is kept after these.
METRICS: dict[str, bool] = {
    "fid": True, "kid": True, "w1": True, "modes_covered": False, "modes_any": False, "high_quality": False,
    "classes_covered": False, "class_accuracy": False,
    "class_kl": True, "modes_kl": True, "precision": False, "recall": False, "density": False, "coverage": False,
    "critic_w1_correlation": False, "real_minus_centroids": False, "accuracy_real": False,
    "accuracy_generated": False, "gan_test": False, "accuracy_filtered_x1": False,
}
SKIPPED = {"step", "samples", "reference_samples", "classes_total", "modes_total", "kid_std", "kid_subset_size"}
EVERY_MNIST_RULE = "none: 28x28 only (3 channels: stacked digits, each read alone)"  # results before 2026-12-06
CARD_KEYS = ("features", "features_sha256", "samples", "reference_samples", "reference_split", "resize")
TIMES = ("seconds_per_step", "train_seconds")
CHECKPOINTS = ("final", "best")
BEST_COLUMNS = ("fid", "w1", "modes_covered", "modes_any")  # the wide tables show the best checkpoint of these
# What variants are ranked by, in this order, where a dataset has them; the VEEGAN count of modes only where the
# 1 % count is absent (Stacked MNIST): on the toys it stays a table column, not a second verdict on the same modes.
PRIMARY = ("fid", "modes_covered", "modes_any", "w1")
TOTALS = {"modes_covered": "modes_total", "modes_any": "modes_total", "classes_covered": "classes_total"}


@dataclass
class RunRecord:
    name: str
    labels: dict[str, str]
    command: str
    run_dir: Path
    result: dict[str, Any] | None
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group(self) -> tuple[str, ...]:
        return experiment_of(self.labels)

    @functools.cached_property
    def run_info(self) -> dict[str, Any]:
        """The run's ``run.json`` (its sample shape, stack, machine), read once; empty where it is missing."""
        info = read_json(Path(self.run_dir) / RUN_INFO_FILE)
        return info if isinstance(info, dict) else {}


@dataclass
class StudyResults:
    out: Path
    manifest: dict[str, Any]
    runs: list[RunRecord]

    @property
    def group_axes(self) -> list[str]:
        return experiment_axes(self.manifest["axes"])

    def groups(self) -> dict[tuple[str, ...], list[RunRecord]]:
        grouped: dict[tuple[str, ...], list[RunRecord]] = defaultdict(list)
        for run in self.runs:
            grouped[run.group].append(run)
        return dict(grouped)

    def finished(self, runs: list[RunRecord]) -> list[RunRecord]:
        return [r for r in runs if r.result is not None]


def collect(out: Path) -> StudyResults:
    """Every run of the study at ``out`` with its result (None until finished) and logged metrics."""
    out = Path(out)
    manifest = read_manifest(out)
    runs = []
    for entry in manifest["runs"]:
        run_dir = out / RUNS_DIR / entry["name"]
        runs.append(RunRecord(entry["name"], entry["labels"], entry.get("command", ""), run_dir,
                              read_result(run_dir), read_metrics(run_dir)))
    results = StudyResults(out, manifest, runs)
    check_one_config_per_experiment(results)
    return results


SEED_LIKE = ("seed", "data.subset_seed")  # random draws that the seeds of one experiment may each make anew


def check_one_config_per_experiment(results: StudyResults) -> None:
    """Refuse to aggregate an experiment whose finished seeds were trained with different configs (beyond the
    random draws of :data:`SEED_LIKE` and the execution settings): a directory filled by hand, or by a version of
    wganlab that did not check. A study may give each seed its own draw of a labelled subset, so that the interval
    covers the draw too (the shipped ``augment`` study does). Each run's own saved config is what is compared,
    never the study file's current text."""
    for runs in results.groups().values():
        done = [(run, saved_config(run.run_dir)) for run in results.finished(runs)]
        done = [(run, config) for run, config in done if config is not None]
        for run, config in done[1:]:
            first, first_config = done[0]
            keys = [k for k in config_differences(first_config, config) if k not in SEED_LIKE]
            if keys:
                raise StudyChanged(f"'{first.run_dir}' and '{run.run_dir}' are seeds of one experiment trained "
                                   f"with different configs ({', '.join(keys[:6])} differ); run the study again "
                                   "with --rerun-changed to retrain what the study now asks")


def evaluation_card(runs: list[RunRecord], checkpoint: str = "final") -> str:
    """How the numbers were measured, from the runs' own results: feature network and the SHA-256 of its weights,
    generated and reference sample counts, the reference split, the resize rule and the checkpoint. Runs that
    were measured differently are all listed, so that a mixed evaluation shows."""
    cards = []
    for run in runs:
        measured = ((run.result or {}).get(checkpoint) or {})
        card = tuple((key, stated_resize(run, measured) if key == "resize" else measured[key])
                     for key in CARD_KEYS if key in measured)
        if card and card not in cards:
            cards.append(card)
    if not cards:
        return ""
    texts = []
    for card in cards:
        values = dict(card)
        parts = []
        if "features" in values:
            parts.append(features_text(values))
        if "samples" in values:
            parts.append(f"{values['samples']:,} generated")
        if "reference_samples" in values:
            split = f" ({values['reference_split']})" if values.get("reference_split") else ""
            parts.append(f"against {values['reference_samples']:,} real{split}")
        if values.get("resize"):
            parts.append(f"resize: {values['resize']}")
        texts.append(", ".join(parts))
    where = {"final": "each run's last checkpoint", "best": "each run's best checkpoint"}.get(checkpoint, checkpoint)
    return f"{'; or '.join(texts)}; {where}"


def stated_resize(run: RunRecord, measured: dict[str, Any]) -> str:
    """The resize rule on a run's evaluation card. Results written before the card named the rule applied to the
    run's own images hold every rule of the MNIST network (:data:`EVERY_MNIST_RULE`); the run's sample shape gives
    its own, so that old and new runs of one study read alike."""
    if measured["resize"] != EVERY_MNIST_RULE:
        return measured["resize"]
    shape = run.run_info.get("sample_shape")
    if not isinstance(shape, list) or len(shape) != 3:
        return measured["resize"]
    from wganlab.metrics.evaluate import resize_rule  # torch: only for results written before the rule was named

    return resize_rule(str(measured.get("features", "mnist")), tuple(shape))


def features_text(measured: dict[str, Any]) -> str:
    """``mnist features (weights SHA-256 95be60eecbed…)``: the feature network of an evaluation and its weights."""
    sha = str(measured.get("features_sha256") or "")[:12]
    return f"{measured['features']} features" + (f" (weights SHA-256 {sha}…)" if sha else "")


def eval_sample_counts(runs: list[RunRecord], logged: str | None = None) -> list[int]:
    """The ``eval_samples`` their in-training evaluations drew, sorted, from the runs' saved configs (of the runs
    that logged ``logged``, where given): the level of an in-training FID or coverage depends on it."""
    return sorted({config["eval_samples"] for r in runs
                   if (logged is None or any(logged in record for record in r.metrics))
                   and (config := saved_config(r.run_dir)) is not None})


def measured_card(runs: list[RunRecord], metric: str, at_step: int | None = None) -> str:
    """How a claim's numbers were measured: the final checkpoints' evaluation (:func:`evaluation_card`), or the
    runs' logs for an in-training evaluation at a step or a number read from the whole log (:data:`READ_FROM_LOG`):
    what the log holds that the number reads, and how its in-training evaluations were drawn where it reads them."""
    if at_step is None and metric not in READ_FROM_LOG:
        return evaluation_card(runs)
    reading = READ_FROM_LOG.get(metric) if at_step is None else None
    what = reading.what if reading else f"the in-training evaluation at step {at_step:,}"
    card = f"each run's training log (metrics.jsonl): {what}"
    if reading and not reading.evaluated:
        return card
    drawn = " or ".join(f"{n:,}" for n in eval_sample_counts(runs))
    final = next((r.result["final"] for r in runs if ((r.result or {}).get("final") or {}).get("features")), {})
    return card + (f"; {drawn} generated against up to 10,000 real" if drawn else "") + \
        (f", {features_text(final)}" if final else "")


def metric_names(results: StudyResults) -> list[str]:
    """Numeric metrics any finished run reports, known ones first in :data:`METRICS` order."""
    seen: set[str] = set()
    for run in results.runs:
        for checkpoint in CHECKPOINTS:
            values = (run.result or {}).get(checkpoint) or {}
            seen.update(k for k, v in values.items() if isinstance(v, (int, float)) and k not in SKIPPED)
    return [m for m in METRICS if m in seen] + sorted(seen - set(METRICS))


def primary_metric(runs: list[RunRecord]) -> str | None:
    """FID where there is one, else W1: the number a variant is ranked by."""
    for name in ("fid", "w1"):
        if any(((r.result or {}).get("final") or {}).get(name) is not None for r in runs):
            return name
    return None


def lower_is_better(metric: str) -> bool:
    return METRICS.get(metric, not metric.startswith("accuracy_"))  # accuracy_xR: augment's, at any ratio R


def run_value(run: RunRecord, metric: str, checkpoint: str = "final") -> float | None:
    if metric in READ_FROM_LOG:
        return READ_FROM_LOG[metric].read(run)
    if metric in TIMES:
        return (run.result or {}).get(metric)
    value = ((run.result or {}).get(checkpoint) or {}).get(metric)
    return float(value) if isinstance(value, (int, float)) else None


def total_reached(runs: list[RunRecord], metric: str) -> float | None:
    """The total a count is out of (8 for 8 gaussians' modes) where every run's final value reached it, which no
    further training can improve on; None for other metrics, differing totals, or a run short of it."""
    totals = {run_value(r, TOTALS[metric]) for r in runs} if metric in TOTALS else set()
    total = totals.pop() if len(totals) == 1 else None
    reached = total is not None and all((run_value(r, metric) or 0) >= total for r in runs)
    return total if reached else None


def seconds_per_critic_step(run: RunRecord) -> float | None:
    """Training seconds per critic (discriminator) update: what an equal number of discriminator epochs costs, the
    practical guide's comparison of a WGAN with a DCGAN (§5.6), where time per generator step charges a WGAN its
    5 critic steps. The critic updates come from the run's log (bursts included)."""
    seconds, steps = (run.result or {}).get("train_seconds"), (run.result or {}).get("steps")
    logged = [r for r in run.metrics if isinstance(r.get("critic_updates"), (int, float)) and r.get("step")]
    if not seconds or not steps or not logged:
        return None
    last = max(logged, key=lambda r: r["step"])
    updates = last["critic_updates"] / last["step"] * steps
    return seconds / updates if updates else None


@dataclass(frozen=True)
class LogReading:
    """A number a claim reads from a run's whole log rather than from one checkpoint's evaluation."""

    read: Callable[[RunRecord], float | None]
    what: str  # what in the log it reads, for the claim's card
    evaluated: bool = False  # it reads the in-training evaluations, whose draw the card then states


READ_FROM_LOG = {
    "seconds_per_critic_step": LogReading(seconds_per_critic_step, "its count of critic updates"),
    "estimate_end_share": LogReading(lambda run: critic_estimate.end_share(run.metrics),
                                     "the critic's estimate on its training batches at every log step"),
    "estimate_fid_change_correlation": LogReading(
        lambda run: critic_estimate.fid_change_correlation(run.metrics),
        "the critic's estimate on its training batches at every log step, and the in-training evaluations' FID",
        evaluated=True),
}


def summarize(results: StudyResults, confidence: float = 0.95) -> list[dict[str, Any]]:
    """One row per (experiment, metric, checkpoint): the interval over that experiment's finished seeds."""
    rows = []
    names = metric_names(results)
    for group, runs in results.groups().items():
        labels = dict(zip(results.group_axes, group, strict=True))
        done = results.finished(runs)
        for metric in [*names, *TIMES]:
            for checkpoint in (CHECKPOINTS if metric not in TIMES else ("run",)):
                values = [run_value(r, metric, checkpoint) for r in done]
                interval = t_interval([v for v in values if v is not None], confidence)
                if interval.n == 0:
                    continue
                row = {**labels, "metric": metric, "checkpoint": checkpoint, "seeds": interval.n,
                       "runs": len(runs), "mean": interval.mean, "std": interval.std,
                       "ci_low": interval.low, "ci_high": interval.high, "interval": interval}
                total = _total(done, metric, checkpoint)
                if total:  # a count bounded by its total: often bimodal over seeds, so also "k of n reach all"
                    row["reach_all"] = sum(1 for v in values if v is not None and v >= total)
                    row["total"] = total
                rows.append(row)
    return rows


def _total(runs: list[RunRecord], metric: str, checkpoint: str) -> int | None:
    """The number of modes or classes a count metric is out of, as the runs report it."""
    if metric not in TOTALS:
        return None
    return next((((r.result or {}).get(checkpoint) or {}).get(TOTALS[metric]) for r in runs
                 if ((r.result or {}).get(checkpoint) or {}).get(TOTALS[metric])), None)


@dataclass(frozen=True)
class Comparison:
    """The variants of one dataset ranked by one metric, with each variant's final values over seeds."""

    ranking: Ranking
    values: dict[str, list[float]]

    @property
    def sentence(self) -> str:
        return verdict(self.ranking, self.values)


def variants_by_dataset(results: StudyResults) -> dict[str, dict[str, list[RunRecord]]]:
    """Finished runs by dataset (the ``data`` axis, "" without one), then by variant: the experiment's other
    labels joined ("wgan-gp", or "wgan-gp, k5" with a second axis), in the study's order."""
    axes = results.group_axes
    by_data: dict[str, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for run in results.runs:
        if run.result is None:
            continue
        labels = dict(zip(axes, run.group, strict=True))
        dataset = labels.pop("data", "")
        by_data[dataset][", ".join(labels.values()) or dataset].append(run)
    return {dataset: dict(variants) for dataset, variants in by_data.items()}


def comparisons(results: StudyResults, metrics: tuple[str, ...] = PRIMARY) -> list[Comparison]:
    """For each dataset and each primary metric it reports (:data:`PRIMARY`, or ``metrics``: a claim may be about
    time per step), the variants ranked by their final checkpoints with every pair compared
    (:mod:`wganlab.study.compare`). A variant is an experiment's labels other than the dataset, so any study axis
    (variant, trick, kernel size) is compared the same way."""
    out = []
    for dataset, variants in variants_by_dataset(results).items():
        everyone = [r for runs in variants.values() for r in runs]
        for metric in metrics:
            values = {name: [v for v in (run_value(r, metric) for r in runs) if v is not None]
                      for name, runs in variants.items()}
            values = {k: v for k, v in values.items() if v}
            if not values or (metric == "modes_any" and metrics == PRIMARY and
                              any(run_value(r, "modes_covered") is not None for r in everyone)):
                continue
            total = next((((r.result or {}).get("final") or {}).get(TOTALS[metric]) for r in everyone
                          if metric in TOTALS), None)
            out.append(Comparison(rank_variants(dataset, metric, values, total), values))
    return out


def curve(runs: list[RunRecord], key: str, confidence: float = 0.95) -> dict[str, np.ndarray] | None:
    """Mean and interval band of a logged quantity at the steps every seed logged it, with the mean wall-clock
    seconds at those steps (for curves against time)."""
    series = []
    for run in runs:
        points = {r["step"]: (r[key], r.get("seconds")) for r in run.metrics
                  if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])}
        if points:
            series.append(points)
    if not series:
        return None
    steps = sorted(set.intersection(*(set(s) for s in series)))
    if not steps:
        return None
    mean, low, high, seconds = [], [], [], []
    for step in steps:
        interval = t_interval([s[step][0] for s in series], confidence)
        mean.append(interval.mean)
        low.append(interval.low if interval.n > 1 else interval.mean)
        high.append(interval.high if interval.n > 1 else interval.mean)
        secs = [s[step][1] for s in series if s[step][1] is not None]
        seconds.append(float(np.mean(secs)) if secs else math.nan)
    return {"step": np.array(steps), "mean": np.array(mean), "low": np.array(low), "high": np.array(high),
            "seconds": np.array(seconds), "n": len(series)}


