"""``docs/reproduction.md``: the source studies' claims, each re-measured by a shipped study, with a verdict.

The page is written only from study outputs (``result.json`` of every run), so its numbers cannot drift from the
runs: ``wganlab reproduce`` reads ``claims.yaml`` beside this module, finds each claim's study directory, and
decides the verdict by a rule stated in the claims file:

- ``beats``: the variant the claim says is better beats the other at Holm-corrected p < 0.05 over seeds (the same
  pairwise comparison as the study's report); the reverse disagrees; anything else is "not separable" with the
  seeds there are. With ``at_step`` it compares the in-training evaluations logged at that step, unfinished runs
  included.
- ``reaches``: every named variant's 95% interval lies on the good side of a threshold (for W1 on a toy: a
  multiple of the W1 between two independent real samples of the same size, the sampling floor).
- ``improves``: within each run, ``metric`` beats ``baseline`` (e.g. accuracy with generated rows added against
  real rows only), paired over seeds: the whole 95% interval of the differences on the better side agrees, on
  the worse side disagrees.
- ``alike``: the variants' in-training ``metric`` at the listed ``steps`` (the evaluations every run logs, read
  from unfinished runs too): disagrees when some pair separates at Holm-corrected p < 0.05 at some step (Holm
  over the pairs of that step), otherwise "not separable" — never "agrees": seeds that cannot tell variants apart
  do not show that they are alike.
- ``worse_on``: one variant's metric, divided by the same metric between two real samples (the sampling floor),
  is worse on one dataset than on another ("the half moons are learned less well than the s-curve"): Welch over
  seeds.
- ``unmeasured``: the claim cannot be measured here, or has not been yet, and the row says why and what it costs.

Every claim of the five source studies sits in the claims file's ``studies:`` list with its sentence quoted and its
section (``where``); claims of other papers, and wganlab's own questions, sit in ``other:`` and are counted apart.
Every row states our budget beside the source's (``source_budget``: what the source states, and its steps x
batch where known) as a ratio. A claim about trained models (every claim unless ``trained: false``) is never
"disagrees" while the runs' curve of the claim's metric (or of ``converged_by``) is still improving at the end
of training (:mod:`wganlab.study.convergence`), nor from runs at under a tenth of the source's stated budget
(whose curves may level only because their learning rate decays to 0): such a row reads "not reproduced at N % of
the source's budget". Each comparison's Holm family is the claim's own pairs.

A study takes minutes to hours, and its outputs live under ``runs/`` (not in git), so a checkout rarely holds all
of them. A row whose study is not found is therefore carried over from the page being rewritten, with the day it
was measured, if that page measured the same claim (same source and text); the rows travel in a comment at the
end of the page. The page says which rows were re-measured now and which were kept.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wganlab.config import VECTOR_DATASETS
from wganlab.errors import WganlabError
from wganlab.fileio import read_json
from wganlab.rundir.layout import RUN_INFO_FILE
from wganlab.study import figures
from wganlab.study.aggregate import (
    TOTALS,
    StudyResults,
    collect,
    evaluation_card,
    run_value,
    t_interval,
)
from wganlab.study.compare import MIN_SEEDS, goal_share, goal_text, rank_variants
from wganlab.study.convergence import curve_points, trend
from wganlab.study.layout import MANIFEST_FILE
from wganlab.study.numbers import metric_info, p_text, plus_minus, value_text
from wganlab.study.task import saved_config

CLAIMS_FILE = Path(__file__).parent / "claims.yaml"
DEFAULT_ROOT = Path("runs/studies")
AGREES, DISAGREES, UNSEPARATED, UNMEASURED = "agrees", "disagrees", "not separable", "not measured"
NOT_REPRODUCED = "not reproduced"  # would disagree, but the runs were still improving when they stopped
MIN_SHARE_TO_REFUTE = 0.1  # below a tenth of the source's budget a levelled curve cannot refute it either
VERDICTS = (AGREES, DISAGREES, NOT_REPRODUCED, UNSEPARATED, UNMEASURED)
SECTIONS = {"studies": "The five source studies", "other": "Other results wganlab measures"}
CARRIED = "measured before budgets were recorded"  # a row kept from a page written before they were
BUDGET_CLASSES = ("at or above the source's budget", "10–100 % of it", "under 10 % of it",
                  "source budget not stated", CARRIED, "not measured")


@dataclass
class ClaimRow:
    source: str
    claim: str
    study: str
    seeds: str
    cpu_time: str
    measured: str
    verdict: str
    why: str = ""
    measured_on: str = ""  # the day the study outputs were read; empty where nothing was measured
    figure: str = ""  # the claim's figure, relative to the page (written from the same study outputs)
    table: str = ""  # markdown shown under the figure: the numbers it draws
    section: str = "studies"  # "studies": the five source studies; "other": other papers, wganlab's questions
    where: str = ""  # the source's section or figure
    quote: str = ""  # the source's own sentence
    budget: str = ""  # ours beside the source's, with the ratio
    budget_class: str = ""  # one of BUDGET_CLASSES

    @property
    def key(self) -> str:
        """Which claim the row is about, to carry it over only while the claim reads the same."""
        return f"{self.source}\n{self.claim}"


ROWS_MARK = "wganlab reproduce rows"
# A claim's ``figure:`` names one of these; each draws from the study's results, or returns None.
FIGURES = {"critic-vs-w1": figures.critic_vs_w1_figure, "augment": figures.augmentation_figure}
FIGURE_CAPTIONS = {"critic-vs-w1": "the exact batch W1 (solid) and each critic's estimate of it (dashed), means "
                   "over seeds with 95% bands",
                   "augment": "held-out accuracy against generated rows per real row (0: real rows only), with "
                   "generated rows only (GAN-train) dashed; means over seeds with 95% error bars"}
_ROWS_COMMENT = re.compile(r"<!-- " + ROWS_MARK + r"\n(.*?)\n-->", re.DOTALL)


def load_claims(path: Path = CLAIMS_FILE) -> list[dict[str, Any]]:
    """Every claim, the source studies' (``studies:``) first, then the others (``other:``), each with its
    ``section``."""
    try:
        tree = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        raise WganlabError(f"'{path}' is not valid YAML ({getattr(err, 'problem', err)}"
                           f"{f' at line {where.line + 1}' if where else ''}); fix that line") from None
    if not isinstance(tree, dict):
        raise WganlabError(f"'{path}' must hold 'studies:' and 'other:', lists of claims")
    claims = []
    for section, key in (("studies", "studies"), ("studies", "claims"), ("other", "other")):
        found = tree.get(key) or []
        if not isinstance(found, list):
            raise WganlabError(f"'{path}': '{key}:' must be a list of claims")
        claims += [{**claim, "section": claim.get("section", section)} for claim in found]
    if not claims:
        raise WganlabError(f"'{path}' must hold 'studies:' and 'other:', lists of claims")
    return claims


def study_directory(claim: dict[str, Any], root: Path = DEFAULT_ROOT) -> Path:
    """The claim's ``out`` (e.g. ``runs/demo``, where ``make demo`` writes), else ``ROOT/STUDY-SCALE``, where
    ``wganlab study STUDY [--scale SCALE]`` writes by default (the scale named by the claim, else full)."""
    if claim.get("out"):
        return Path(claim["out"])
    return Path(root) / f"{claim['study']}-{claim.get('scale') or 'full'}"


def study_label(claim: dict[str, Any]) -> str:
    """``loss-matters --scale fashion``: the claim's study as the study command names it."""
    return claim["study"] + (f" --scale {claim['scale']}" if claim.get("scale") else "")


def study_command(claim: dict[str, Any], where: Path) -> str:
    """The command that writes the claim's study where ``wganlab reproduce`` looks for it."""
    return f"wganlab study {study_label(claim)} --out {where}"


def judge(claim: dict[str, Any], results: StudyResults | None, where: Path) -> ClaimRow:
    """One row of the page: what was measured for this claim, with both budgets, and whether it agrees."""
    test = claim["test"]
    row = ClaimRow(claim["source"], " ".join(str(claim["claim"]).split()), study_label(claim), "–", "–", "–",
                   UNMEASURED, section=claim.get("section", "studies"), where=str(claim.get("where", "")),
                   quote=" ".join(str(claim.get("quote", "")).split()))
    row.budget, row.budget_class, _ = budget_text(claim, [])
    if test["kind"] == "unmeasured":
        row.why = " ".join(str(test["reason"]).split())
        return row
    if results is None:
        row.why = f"not run yet: `{study_command(claim, where)}`"
        return row
    if test["kind"] == "worse_on":
        datasets = [test["better_on"], test["worse_on"]]
        variants = _names(test["variant"])
    else:
        datasets = _names(test["data"])
        variants = test.get("variants") or [*_names(test["better"]), *_names(test["worse"])]
    # read from the runs' logged evaluations, finished or not
    during = test["kind"] == "alike" or "at_step" in test
    runs = [r for r in results.runs if (during or r.result is not None) and r.labels.get("data") in datasets
            and r.labels.get("variant") in variants]
    if not runs:
        row.why = f"the study at {where} has no finished run of {', '.join(variants)} on {', '.join(datasets)}"
        return row
    seeds = sorted({sum(1 for r in runs if r.labels["data"] == d and r.labels["variant"] == v)
                    for d in datasets for v in variants} - {0})
    row.seeds = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    row.cpu_time = _minutes(sum(_train_seconds(r) for r in runs))
    row.measured_on = date.today().isoformat()
    row.budget, row.budget_class, ratio = budget_text(claim, runs)
    judges = {"reaches": lambda t, d: _judge_reaches(t, d, runs, results),
              "beats": lambda t, d: _judge_beats(t, d, runs), "improves": lambda t, d: _judge_improves(t, d, runs),
              "alike": lambda t, d: _judge_alike(t, d, runs)}
    part_of = functools.partial(_part, test["kind"])
    if test["kind"] == "worse_on":  # one comparison across the datasets: it rests on all of them
        judged = [_judge_worse_on(test, runs, results)]
        refuting = runs
    else:
        judge_one = judges[test["kind"]]
        judged = [judge_one(test, d) for d in datasets]
        against = {d for d, (_, verdict) in zip(datasets, judged, strict=True) if verdict == DISAGREES}
        refuting = [r for r in runs if r.labels.get("data") in against]
        if test["kind"] in ("reaches", "improves"):  # each variant judged alone: the refutation is its runs'
            parts = {part_of(r) for r in refuting}
            against_parts = {(d, v) for d, v in parts if judge_one({**test, "variants": [v]}, d)[1] == DISAGREES}
            refuting = [r for r in refuting if part_of(r) in against_parts]
    row.measured = "; ".join(text for text, _ in judged)
    card = evaluation_card(runs) if test["kind"] not in ("alike",) and claim.get("trained", True) else ""
    row.measured += f" [evaluation: {card}]" if card else ""
    row.verdict = _overall(v for _, v in judged)
    if row.verdict == DISAGREES and claim.get("trained", True):
        # a refutation stands on the runs of a part that disagrees: they must have stopped improving
        _unless_still_improving(row, claim, refuting, ratio, part_of)
    return row


def _part(kind: str, run: Any) -> Any:
    """What one verdict of a row rests on: a dataset's variant for claims judged per variant (reaches,
    improves), a dataset for pairs (beats, alike), every run for a comparison across datasets (worse_on)."""
    if kind == "worse_on":
        return "all"
    return (run.labels["data"], run.labels["variant"]) if kind in ("reaches", "improves") else run.labels["data"]


def _unless_still_improving(row: ClaimRow, claim: dict[str, Any], runs: list, ratio: float | None,
                            part_of: Any) -> None:
    """A refutation of a claim about trained models needs runs that had stopped improving. ``runs`` are those of
    the parts that disagree (``part_of`` names a run's part: a dataset, or a dataset and variant); as one
    disagreeing part decides a row, one part whose every curve of the claim's metric (or ``converged_by``) had
    levelled suffices. When none had (a curve still improving over the last third of training, or too few
    evaluations to tell), or the runs had under a tenth of the source's budget, or no source budget is known and
    their learning rate decays to 0 at the last step (which levels any curve), the row becomes "not reproduced
    at N % of the source's budget"."""
    candidates = _names(claim.get("converged_by", claim["test"]["metric"]))
    groups: dict[tuple[str, str], list] = {}
    for run in runs:
        groups.setdefault((run.labels["data"], run.labels["variant"]), []).append(run)
    trends, parts = {}, {}
    for key, members in groups.items():  # the first of the candidate metrics these runs log
        metric = next((m for m in candidates if any(curve_points(r.metrics, m) for r in members)), candidates[0])
        until = _last_step_read(claim["test"])  # whether they were still improving where the claim reads them
        trends[key] = trend([[(s, v) for s, v in curve_points(r.metrics, metric) if until is None or s <= until]
                             for r in members], metric)
        parts.setdefault(part_of(members[0]), []).append(key)
    settled = [key for keys in parts.values() if all(trends[k].improving is False for k in keys) for key in keys]
    described = "; ".join(f"{v} on {d}: {trends[(d, v)].text()}" for d, v in settled)
    if settled and ratio is None and any(_decays_to_zero(run) for key in settled for run in groups[key]):
        # Levelled, but the learning rate reached 0 at the last step, and no source budget says whether these
        # runs were long: the flat end shows the schedule, not a trained model.
        row.verdict = NOT_REPRODUCED
        row.why = (f"at {_share_text(ratio)} (convergence not shown: the runs' learning rate decays linearly to 0 "
                   f"at their last step, which levels any curve): {described}")
        return
    if settled and ratio is not None and ratio < MIN_SHARE_TO_REFUTE:
        # Levelled, but at a small fraction of the source's budget: with a schedule that decays the learning rate
        # to 0 (the toys' presets) any run levels by its end, which says nothing about the source's models.
        row.verdict = NOT_REPRODUCED
        row.why = (f"at {_share_text(ratio)} (the curves levelled, but at under a tenth of the source's "
                   f"budget that cannot refute a claim about its trained models): {described}")
        return
    if settled:
        row.why = f"converged: {described}"
        return
    open_ended = {key: t for key, t in trends.items() if t.improving is not False}
    still = any(t.improving for t in open_ended.values())
    row.verdict = NOT_REPRODUCED
    row.why = (f"at {_share_text(ratio)} (" + ("still improving" if still else "convergence not shown") + "): "
               + "; ".join(f"{v} on {d}: {t.text()}" for (d, v), t in open_ended.items()))


def _decays_to_zero(run: Any) -> bool:
    """Whether the run's saved config decays its learning rates linearly to 0 at the last step."""
    saved = saved_config(run.run_dir)
    return bool(saved) and saved.get("lr_schedule") == "linear"


def _overall(verdicts: Iterable[str]) -> str:
    """Several parts of one claim (datasets, variants, pairs): one disagreeing part decides, all must agree."""
    verdicts = set(verdicts)
    return DISAGREES if DISAGREES in verdicts else AGREES if verdicts == {AGREES} else UNSEPARATED


def _last_step_read(test: dict[str, Any]) -> int | None:
    """The last training step a claim reads from the runs' logs (``alike``, ``at_step``); None: the end."""
    if test["kind"] == "alike":
        return max(test["steps"])
    return test.get("at_step")


def our_budget(claim: dict[str, Any], runs: list) -> tuple[int, tuple[int, int], int] | None:
    """(steps, (smallest, largest batch), seeds per experiment) of the runs behind a row: the median run's steps
    (for ``alike``/``at_step``, the last step it reads) and the batch sizes in the runs' saved configs; None where
    the runs say no steps."""
    steps, batches = [], []
    for run in runs:
        if _last_step_read(claim["test"]) is not None:
            steps.append(_last_step_read(claim["test"]))
        elif run.result and isinstance(run.result.get("steps"), int):
            steps.append(run.result["steps"])
        config = saved_config(run.run_dir)
        if config:
            batch = config.get("batch_size")
            is_vectors = config.get("data", {}).get("name") in VECTOR_DATASETS
            batches.append(batch if batch is not None else (256 if is_vectors else 64))
    if not steps:
        return None
    seeds = len({(r.labels.get("data"), r.labels.get("variant"), r.labels.get("seed")) for r in runs})
    per_cell = max(1, seeds // max(1, len({(r.labels.get("data"), r.labels.get("variant")) for r in runs})))
    return int(np.median(steps)), (min(batches), max(batches)) if batches else (0, 0), per_cell


def budget_text(claim: dict[str, Any], runs: list) -> tuple[str, str, float | None]:
    """``ours 1,000 steps × 256 (5 seeds); source: ... : 1 % of it``, the row's budget class, and the ratio of
    our samples seen to the source's (None where either is unknown)."""
    source = claim.get("source_budget") or {}
    theirs = " ".join(str(source.get("text", "not stated")).split())
    if claim["test"]["kind"] == "unmeasured" or not runs:
        return f"source: {theirs}", BUDGET_CLASSES[5], None
    ours = our_budget(claim, runs)
    if ours is None:
        return f"source: {theirs}", BUDGET_CLASSES[3], None
    steps, (smallest, largest), seeds = ours
    batch = f"{smallest}" if smallest == largest else f"{smallest}–{largest}"  # variants may differ (GAN vs WGAN)
    text = f"ours: {steps:,} steps" + (f" × {batch}" if largest else "") + f", {seeds} seeds; source: {theirs}"
    ratio = _ratio(claim, ours)
    if ratio is None:
        return text, BUDGET_CLASSES[3], None
    text += f" ({_percent(ratio)} of it)"
    budget_class = BUDGET_CLASSES[0] if ratio >= 1 else BUDGET_CLASSES[1] if ratio >= 0.1 else BUDGET_CLASSES[2]
    return text, budget_class, ratio


def _ratio(claim: dict[str, Any], ours: tuple[int, tuple[int, int], int] | None) -> float | None:
    """Our samples seen (steps × batch, from :func:`our_budget`) over the source's, where both are known."""
    samples = (claim.get("source_budget") or {}).get("samples")
    if not samples or ours is None or not ours[1][1]:
        return None
    return ours[0] * ours[1][1] / float(samples)  # the largest batch: the most any of our variants saw


def _share_text(ratio: float | None) -> str:
    return f"{_percent(ratio)} of the source's budget" if ratio is not None else \
        "our budget (the source states none to compare with)"


def _percent(ratio: float) -> str:
    value = 100 * ratio
    return f"{value:.0f} %" if value >= 10 else f"{value:.1g} %" if value >= 0.1 else "under 0.1 %"


def _judge_reaches(test: dict[str, Any], dataset: str, runs: list, results: StudyResults) -> tuple[str, str]:
    metric = test["metric"]
    info = metric_info(metric)
    if "floor_multiple" in test:
        floor = real_floor(dataset, metric, results.manifest.get("evaluation_samples", 2000))
        threshold = float(test["floor_multiple"]) * floor
        bound = (f"≤ {value_text(threshold, metric)} ({test['floor_multiple']} × real-vs-real "
                 f"{value_text(floor, metric)})")
    elif test.get("at_least") == "all":  # every mode (or class) of the dataset: the total its runs report
        total = next((r.result["final"].get(TOTALS[metric]) for r in runs if r.labels["data"] == dataset), None)
        if total is None:
            raise WganlabError(f"'at_least: all' needs a count metric with a total (modes_covered), not {metric}")
        threshold, bound = float(total), f"all {total}"
    else:
        threshold = float(test.get("at_most", test.get("at_least")))
        bound = f"{'≤' if 'at_most' in test else '≥'} {value_text(threshold, metric)}"
    parts, verdicts = [], []
    for variant in test["variants"]:
        values = [run_value(r, metric) for r in runs if r.labels["data"] == dataset and r.labels["variant"] == variant]
        values = [v for v in values if v is not None]
        if test.get("at_least") == "all" or (info.count and "at_least" in test):
            # A bounded count is often bimodal over seeds (8, 8, 0), which a t-interval misdescribes: judged by
            # how many seeds reach the goal, with the exact interval of that share. Every seed of at least 3
            # agrees, none disagrees; some but not all: the claim holds on some seeds, not separable.
            k, n, low, high = goal_share(values, threshold)
            parts.append(f"{variant}: {k} of {n} seeds (95% exact interval {round(100 * low)}–{round(100 * high)}%)")
            verdicts.append(AGREES if n >= MIN_SEEDS and k == n else
                            DISAGREES if n >= MIN_SEEDS and k == 0 else UNSEPARATED)
            continue
        interval = t_interval(values)
        parts.append(f"{variant} {interval.text(metric)}")
        # the goal's own side, not the metric's direction: "an error of at least 0.2" is a lower-is-better metric
        wants_low = "floor_multiple" in test or "at_most" in test
        good_side = (interval.high <= threshold) if wants_low else (interval.low >= threshold)
        bad_side = (interval.low > threshold) if wants_low else (interval.high < threshold)
        if interval.n > 1 and good_side:
            verdicts.append(AGREES)
        elif interval.n > 1 and bad_side:
            verdicts.append(DISAGREES)
        else:
            verdicts.append(UNSEPARATED)
    verdict = _overall(verdicts)
    return f"{dataset} {info.label} (goal {bound}): {', '.join(parts)}", verdict


def _judge_beats(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """Each ``better`` variant against each ``worse`` one (either may be a list: "WGAN-GP is slower" is WGAN-GP
    worse than each of the others); agrees only when every pair separates the claimed way. The Holm family is
    these pairs alone, not the study's other variants."""
    metric = test["metric"]
    info = metric_info(metric)
    read = (lambda run: _logged_at(run, metric, test["at_step"])) if "at_step" in test else \
        (lambda run: run_value(run, metric))
    values = {variant: [v for v in (read(r) for r in runs
                                    if r.labels["data"] == dataset and r.labels["variant"] == variant)
                        if v is not None]
              for variant in [*_names(test["better"]), *_names(test["worse"])]}
    values = {k: v for k, v in values.items() if v}
    total = next((((r.result or {}).get("final") or {}).get(TOTALS[metric]) for r in runs if metric in TOTALS), None)
    claimed = [(b, w) for b in _names(test["better"]) for w in _names(test["worse"])]
    ranking = rank_variants(dataset, metric, values, total, pairs=claimed)
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
        parts.append(f"{better} {value_text(means[better], metric)} vs {worse} {value_text(means[worse], metric)}, "
                     f"difference {_signed(pair, metric)}, {p_text(pair.p_holm)} ({_test_name(pair)}){goal}")
        better_is_better = (pair.difference < 0) == info.lower_is_better
        verdicts.append(UNSEPARATED if not pair.significant else AGREES if better_is_better else DISAGREES)
    family = f" [Holm over the claim's {len(claimed)} pairs]" if len(claimed) > 1 else ""
    where = f" at step {test['at_step']:,} (in-training evaluation)" if "at_step" in test else ""
    return f"{dataset} {info.label}{where}: {'; '.join(parts)}{family}", _overall(verdicts)


def _logged_at(run: Any, metric: str, step: int) -> float | None:
    """The run's in-training ``metric`` logged at ``step`` (finished or not), None if it never got there."""
    found = [r[metric] for r in run.metrics if r.get("step") == step and isinstance(r.get(metric), (int, float))]
    return float(found[-1]) if found else None


def _test_name(pair: Any) -> str:
    tested = "Welch" if pair.test == "welch" else "exact permutation test"
    return f"{tested}, Holm" if pair.family > 1 else tested


def _judge_worse_on(test: dict[str, Any], runs: list, results: StudyResults) -> tuple[str, str]:
    """One variant's metric relative to the sampling floor (the metric between two real samples) on ``better_on``
    against ``worse_on``: the claim that the second dataset is learned less well. Welch over seeds."""
    metric, variant = test["metric"], _names(test["variant"])[0]
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
            f"difference {_signed(pair, '')}, {p_text(pair.p_holm)} ({_test_name(pair)})"), verdict


def _train_seconds(run: Any) -> float:
    """A run's share of the training time. A finished stacked seed's result holds its share already (beside
    ``stack_train_seconds``); an unfinished run's is its last logged ``seconds``, which for a seed trained in a
    stack of S (``stacked_seeds`` in its run.json) are the stack's, so its share is 1/S."""
    result = run.result
    if result is not None and ("stack_train_seconds" in result or "stacked_seeds" not in result):
        return float(result.get("train_seconds", 0.0))
    if result is not None:  # a stacked seed's result from before shares were written: the stack's seconds
        return float(result.get("train_seconds", 0.0)) / int(result["stacked_seeds"])
    logged = [r["seconds"] for r in run.metrics if isinstance(r.get("seconds"), (int, float))]
    info = read_json(Path(run.run_dir) / RUN_INFO_FILE)
    stacked = int(info.get("stacked_seeds", 1)) if isinstance(info, dict) else 1
    return (float(logged[-1]) if logged else 0.0) / stacked


def _judge_alike(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """The variants' logged ``metric`` at each of ``steps``: every pair compared over seeds (Welch, Holm over the
    pairs of one step). Some pair separated at some step disagrees with "alike"; nothing separated is only
    "not separable"."""
    metric, info = test["metric"], metric_info(test["metric"])
    parts, verdicts = [], []
    for step in test["steps"]:
        values = {variant: [record[metric] for run in runs
                            if run.labels["data"] == dataset and run.labels["variant"] == variant
                            for record in run.metrics
                            if record.get("step") == step and isinstance(record.get(metric), (int, float))]
                  for variant in test["variants"]}
        ranking = rank_variants(dataset, metric, {k: v for k, v in values.items() if v})
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
    return f"{dataset} {info.label} during training: {'. '.join(parts)}", _overall(verdicts)


def _names(value: str | list[str]) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _judge_improves(test: dict[str, Any], dataset: str, runs: list) -> tuple[str, str]:
    """``metric`` against ``baseline`` within each run (paired over seeds: e.g. a classifier's accuracy with
    generated rows added against the same run's real-only accuracy): agrees when the 95% interval of the paired
    differences lies wholly on the better side, disagrees when wholly on the worse side."""
    metric, baseline = test["metric"], test["baseline"]
    info = metric_info(metric)
    parts, verdicts = [], []
    for variant in test["variants"]:
        pairs = [(run_value(r, metric), run_value(r, baseline)) for r in runs
                 if r.labels["data"] == dataset and r.labels["variant"] == variant]
        differences = [a - b for a, b in pairs if a is not None and b is not None]
        interval = t_interval(differences)
        better = -1.0 if info.lower_is_better else 1.0
        if interval.n > 1 and min(better * interval.low, better * interval.high) > 0:
            verdicts.append(AGREES)
        elif interval.n > 1 and max(better * interval.low, better * interval.high) < 0:
            verdicts.append(DISAGREES)
        else:
            verdicts.append(UNSEPARATED)
        mean_metric = float(np.mean([a for a, _ in pairs if a is not None])) if pairs else float("nan")
        mean_base = float(np.mean([b for _, b in pairs if b is not None])) if pairs else float("nan")
        parts.append(f"{variant} {value_text(mean_metric, metric)} vs {value_text(mean_base, baseline)}, "
                     f"paired difference {interval.text(metric, difference=True)}")
    verdict = _overall(verdicts)
    return (f"{dataset} {info.label} against {metric_info(baseline).label}: {'; '.join(parts)}"), verdict


@functools.cache  # a pure function of its arguments (fixed draws), asked again by every row on the dataset
def real_floor(dataset: str, metric: str, samples: int) -> float:
    """The metric between two independent real samples of the evaluation's size: what a perfect generator gets."""
    if metric != "w1":
        raise WganlabError(f"floor_multiple is defined for w1 only, not {metric}")
    import torch

    from wganlab.config import DataConfig
    from wganlab.data import make_source
    from wganlab.fileio import isolated_rng
    from wganlab.metrics.toy import wasserstein1_exact

    source = make_source(DataConfig(name=dataset), torch.device("cpu"))
    count = min(samples, 5000)  # as the evaluation does
    with isolated_rng(0):
        reference = source.sample(count)  # the same reference points the runs were measured against
    with isolated_rng(1):
        other = source.sample(count)
    return wasserstein1_exact(other, reference)


def build_page(rows: list[ClaimRow], command: str) -> str:
    days = sorted({r.measured_on for r in rows if r.measured_on})
    lines = [
        "# The studies' claims, re-measured",
        "",
        f"Written by `{command}` on {date.today().isoformat()} from the studies' outputs; do not edit by hand. "
        "Each row quotes one claim of a source study with its section, says what wganlab measures for it (the "
        "shipped study, seeds, training time on CPUs unless the claim names a GPU; seeds trained stacked count "
        "their share of the stack), our budget beside the source's, and the verdict, decided by the rule in "
        "`src/wganlab/study/claims.yaml`: *agrees* / *disagrees* (Holm-corrected p < 0.05 over the claim's own "
        "pairs for comparisons, the whole interval past the goal for thresholds, every seed for \"all modes\"), "
        "*not reproduced* (it would disagree, but the runs were still improving when they stopped, too few "
        "evaluations show that they had stopped — the slope of the metric over the last third of training, "
        "`src/wganlab/study/convergence.py` — or they had under a tenth of the source's budget), *not separable* "
        "(these seeds cannot decide it) or *not measured* "
        "(and why, and what it would cost). Claims of other papers, and wganlab's own questions, are in the second "
        "table and not in the first table's counts.",
        "",
        *_counts(rows),
    ]
    if len(days) > 1:
        lines += ["", f"Measured on {', '.join(days)} (the *on* column): a row whose study was not found when the "
                      "page was rewritten is kept from the page before, with the day it was measured."]
    drawn: dict[str, tuple[str, str]] = {}  # figure -> (study, its table), each shown once
    for section, title in SECTIONS.items():
        chosen = [r for r in rows if r.section == section]
        if not chosen:
            continue
        lines += ["", f"## {title}", "", "| source, section | claim | study | seeds | budget | time | on | measured "
                  "| verdict |", "|---|---|---|---|---|---|---|---|---|"]
        for row in chosen:
            verdict = f"**{row.verdict}**" + (f": {row.why}" if row.why else "")
            measured = row.measured + (f" ([figure]({row.figure}))" if row.figure else "")
            claim = (f"\"{row.quote}\" Tested: {row.claim}" if row.quote else row.claim)
            source = f"{row.source}, {row.where}" if row.where else row.source
            lines.append(f"| {source} | {claim} | `{row.study}` | {row.seeds} | {row.budget or '–'} | "
                         f"{row.cpu_time} | {row.measured_on or '–'} | {measured} | {verdict} |")
            if row.figure:
                drawn.setdefault(row.figure, (row.study, row.table))
    lines += ["", "Each study's report (`report.html` in its directory) shows the samples and curves behind its rows."]
    if drawn:
        lines += ["", "## Figures"]
        for path, (study, table) in drawn.items():
            kind = Path(path).stem.rsplit(".", 1)[-1]
            lines += ["", f"`{study}`: {FIGURE_CAPTIONS.get(kind, kind)}.", "", f"![{study}]({path})"]
            lines += ["", table] if table else []
    record = json.dumps([asdict(r) for r in rows if r.measured_on], ensure_ascii=False, indent=0)
    lines += ["", f"<!-- {ROWS_MARK}", record, "-->"]
    return "\n".join(lines) + "\n"


def _counts(rows: list[ClaimRow]) -> list[str]:
    """The headline: verdicts per section, and per budget class within it."""
    lines = []
    for section, title in SECTIONS.items():
        chosen = [r for r in rows if r.section == section]
        if not chosen:
            continue
        lines.append(f"**{title}**: " + _tally(chosen) + ".")
        lines += [f"- {budget}: {_tally(group)}" for budget in BUDGET_CLASSES
                  if (group := [r for r in chosen if r.budget_class == budget])]
        lines.append("")
    return lines[:-1]


def _tally(rows: list[ClaimRow]) -> str:
    return ", ".join(f"{sum(r.verdict == v for r in rows)} {VERDICT_PLURALS[v]}" for v in VERDICTS
                     if any(r.verdict == v for r in rows))


VERDICT_PLURALS = {AGREES: "agree", DISAGREES: "disagree", NOT_REPRODUCED: "not reproduced at the budget",
                   UNSEPARATED: "not separable", UNMEASURED: "not measured"}


def measured_rows(page: Path) -> dict[str, ClaimRow]:
    """The measured rows a page written by :func:`build_page` carries, by claim; none if the page is absent, was
    not written by it, or its record cannot be read (the rows are then measured again or marked not run)."""
    try:
        found = _ROWS_COMMENT.search(Path(page).read_text(encoding="utf-8"))
        records = json.loads(found.group(1)) if found else []
    except (OSError, ValueError):
        return {}
    names = {f.name for f in fields(ClaimRow)}
    required = {f.name for f in fields(ClaimRow) if f.default is MISSING}  # a page written before a field existed
    rows = [ClaimRow(**{k: v for k, v in r.items() if k in names}) for r in records
            if isinstance(r, dict) and required <= r.keys()]
    return {row.key: row for row in rows if row.measured_on}


def reproduce(out: Path, root: Path = DEFAULT_ROOT, claims_file: Path = CLAIMS_FILE) -> tuple[Path, list[ClaimRow]]:
    """Judge every claim against the study outputs under ``root`` (and ``runs/demo``) and write the page; a claim
    whose study is not there keeps its row from the page at ``out``, if that page measured it."""
    out = Path(out)
    rows, cache, earlier = [], {}, measured_rows(out)
    for claim in load_claims(claims_file):
        where = study_directory(claim, root)
        if where not in cache:
            cache[where] = collect(where) if (where / MANIFEST_FILE).is_file() else None
        row = judge(claim, cache[where], where)
        kept = earlier.get(row.key)
        if cache[where] is None and claim["test"]["kind"] != "unmeasured" and kept and kept.study == row.study:
            # what the claims file says now (its table, section, quote); what was measured, from the page before
            row = replace(kept, section=row.section, where=row.where, quote=row.quote,
                          budget=kept.budget or row.budget, budget_class=kept.budget_class or CARRIED)
        elif cache[where] is not None and claim.get("figure"):
            row.figure = _draw(claim, cache[where], out.parent)
            row.table = FIGURE_TABLES.get(claim["figure"], lambda results: "")(cache[where]) if row.figure else ""
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(rows, f"wganlab reproduce --out {out}"), encoding="utf-8")
    return out, rows


AUGMENT_COLUMNS = {"accuracy_real": "real only", "accuracy_generated": "generated only (GAN-train)",
                   "accuracy_x0.5": "real + 0.5x", "accuracy_x1": "real + 1x", "accuracy_filtered_x1":
                   "real + 1x filtered", "accuracy_x2": "real + 2x", "accuracy_x4": "real + 4x",
                   "gan_test": "GAN-test"}


def augmentation_table(results: StudyResults) -> str:
    """Held-out accuracy (%) by what the classifier was trained on, one row per dataset and variant: the mean
    over seeds ± the 95% half-width, as the augment figure draws it."""
    lines = ["| data | variant | seeds | " + " | ".join(AUGMENT_COLUMNS.values()) + " |",
             "|---|---|---|" + "---|" * len(AUGMENT_COLUMNS)]
    for runs in results.groups().values():
        done = [r for r in runs if r.result is not None and run_value(r, "accuracy_real") is not None]
        if not done:
            continue
        cells = []
        for metric in AUGMENT_COLUMNS:
            interval = t_interval([run_value(r, metric) for r in done])
            cells.append(plus_minus(100 * interval.mean, 100 * interval.half_width) if interval.n else "–")
        labels = done[0].labels
        lines.append(f"| {labels.get('data', '')} | {labels.get('variant', '')} | {len(done)} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nHeld-out accuracy in %, mean ± 95% half-width over seeds." if len(lines) > 2 else ""


FIGURE_TABLES = {"augment": augmentation_table}


def _draw(claim: dict[str, Any], results: StudyResults, folder: Path) -> str:
    """Write the claim's figure as ``images/STUDY-SCALE.KIND.png`` beside the page; its path for the page, or
    empty if the study has nothing to draw."""
    kind = claim["figure"]
    if kind not in FIGURES:
        raise WganlabError(f"claim figure '{kind}' is not one of {', '.join(FIGURES)}")
    png = FIGURES[kind](results)
    if png is None:
        return ""
    name = f"images/{claim['study']}-{claim.get('scale') or 'full'}.{kind}.png"
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)
    return name


def _signed(pair, metric: str) -> str:
    return plus_minus(pair.difference, (pair.high - pair.low) / 2, metric)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 600 else f"{seconds / 60:.1f} min"
