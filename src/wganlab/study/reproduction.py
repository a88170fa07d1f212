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
  real rows only), paired over seeds: a paired t-test that separates the differences from 0 at Holm-corrected
  p < 0.05 (Holm over the claim's variants on one dataset) agrees on the better side, disagrees on the worse.
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
of training (:mod:`wganlab.study.convergence`), nor, for a threshold, while the end of its levelled curve's
slope interval on the goal's side could still take it there by the source's budget (as many steps again where
the source states none; the claim's own metric, read at the end of training), nor from runs at under a tenth of
the source's stated budget (whose curves may level only because their learning rate decays to 0): such a row
reads "not reproduced at N % of the source's budget". Each comparison's Holm family is the claim's own pairs.

A study takes minutes to hours, and its outputs live under ``runs/`` (not in git), so a checkout rarely holds all
of them. A row whose study is not found is therefore carried over from the page being rewritten, with the day it
was measured, if that page measured the same claim (same source and text); the rows travel in a comment at the
end of the page. The page says which rows were re-measured now and which were kept.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wganlab.errors import WganlabError
from wganlab.rundir.log import METRICS_FILE
from wganlab.study.aggregate import StudyResults, collect, measured_card, run_value, t_interval, total_reached
from wganlab.study.budgets import (
    budget_ratio,
    budget_text,
    carried_budget,
    last_step_read,
    share_text,
    unfinished_caveat,
)
from wganlab.study.convergence import Trend, curve_points, trend
from wganlab.study.layout import MANIFEST_FILE
from wganlab.study.numbers import metric_info, value_text
from wganlab.study.reproduction_page import (
    FIGURE_TABLES,
    ClaimRow,
    build_page,
    draw_figure,
    measured_rows,
    minutes_text,
)
from wganlab.study.search import TRIALS_DIR
from wganlab.study.task import RESULT_FILE, saved_config
from wganlab.study.verdicts import (
    AGREES,
    DISAGREES,
    NOT_REPRODUCED,
    UNMEASURED,
    UNSEPARATED,
    goal_is_low,
    judge_alike,
    judge_beats,
    judge_improves,
    judge_reaches,
    judge_worse_on,
    judged_seed_by_seed,
    overall,
    reaches_goal,
    refuting_variants,
    train_seconds,
    variant_names,
)

CLAIMS_FILE = Path(__file__).parent / "claims.yaml"
DEFAULT_ROOT = Path("runs/studies")
MIN_SHARE_TO_REFUTE = 0.1  # below a tenth of the source's budget a levelled curve cannot refute it either


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
    unknown = [key for key in tree if key not in ("studies", "claims", "other")]
    if unknown:
        raise WganlabError(f"'{path}' has an unknown section '{unknown[0]}:'; the sections are 'studies:' (the source "
                           "studies' claims) and 'other:'")
    claims = []
    for section, key in (("studies", "studies"), ("studies", "claims"), ("other", "other")):
        found = tree.get(key) or []
        if not isinstance(found, list):
            raise WganlabError(f"'{path}': '{key}:' must be a list of claims")
        for claim in found:
            _check_keys(path, claim)
            claims.append({**claim, "section": claim.get("section", section)})
    if not claims:
        raise WganlabError(f"'{path}' must hold 'studies:' and 'other:', lists of claims")
    return claims


CLAIM_KEYS = ("source", "where", "quote", "claim", "differences", "source_budget", "trained", "converged_by",
              "study", "scale", "out", "figure", "section", "test")


def _check_keys(path: Path, claim: Any) -> None:
    """A misspelt key would be read as absent (a difference or a budget silently left off the page): refuse it."""
    if not isinstance(claim, dict):
        raise WganlabError(f"'{path}': every claim must be a mapping of {', '.join(CLAIM_KEYS)}; got {claim!r:.60}")
    unknown = [key for key in claim if key not in CLAIM_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), CLAIM_KEYS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"the keys are {', '.join(CLAIM_KEYS)}"
        raise WganlabError(f"'{path}': the claim from {claim.get('source', '?')!r} has an unknown key "
                           f"'{unknown[0]}'; {hint}")


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


def measured_day(runs: list) -> str:
    """The day the newest of these runs was measured: when its ``result.json`` (the final evaluation) or, for a
    run read while it trains, its metrics log was last written; today for runs with neither on disk. Re-reading
    old runs does not re-date their row; copying them without their times (``cp -r`` without ``-p``) or resuming
    one (which rewrites its metrics log) does."""
    written = []
    for run in runs:
        for name in (RESULT_FILE, METRICS_FILE):
            path = Path(run.run_dir) / name
            if path.is_file():
                written.append(path.stat().st_mtime)
                break
    return (datetime.fromtimestamp(max(written)).date() if written else date.today()).isoformat()


def judge(claim: dict[str, Any], results: StudyResults | None, where: Path,
          trials: StudyResults | None = None) -> ClaimRow:
    """One row of the page: what was measured for this claim, with both budgets, and whether it agrees. A
    searched study's ``trials`` count in its time: the search is part of what the verdict cost."""
    test = claim["test"]
    row = ClaimRow(claim["source"], " ".join(str(claim["claim"]).split()), study_label(claim), "–", "–", "–",
                   UNMEASURED, section=claim.get("section", "studies"), where=str(claim.get("where", "")),
                   quote=" ".join(str(claim.get("quote", "")).split()),
                   differences=" ".join(str(claim.get("differences", "")).split()))
    row.budget, row.budget_class, _ = budget_text(claim, [])
    if test["kind"] == "unmeasured":
        row.why = " ".join(str(test["reason"]).split())
        return row
    if results is None:
        row.why = f"not run yet: `{study_command(claim, where)}`"
        return row
    if test["kind"] == "worse_on":
        datasets = [test["better_on"], test["worse_on"]]
        variants = variant_names(test["variant"])
    else:
        datasets = variant_names(test["data"])
        variants = test.get("variants") or [*variant_names(test["better"]), *variant_names(test["worse"])]
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
    row.cpu_time = minutes_text(sum(train_seconds(r) for r in runs))
    searched = [r for r in (trials.runs if trials else []) if r.labels.get("data") in datasets
                and r.labels.get("variant") in variants]
    if searched:
        row.cpu_time += f" + {minutes_text(sum(train_seconds(r) for r in searched))} of search"
    row.measured_on = measured_day(runs)
    row.budget, row.budget_class, ratio = budget_text(claim, runs)
    judges = {"reaches": lambda t, d: judge_reaches(t, d, runs, results),
              "beats": lambda t, d: judge_beats(t, d, runs), "improves": lambda t, d: judge_improves(t, d, runs),
              "alike": lambda t, d: judge_alike(t, d, runs)}
    if test["kind"] == "worse_on":  # one comparison across the datasets: it rests on all of them
        judged = [judge_worse_on(test, runs, results)]
        refuting = {("all",): runs} if judged[0][1] == DISAGREES else {}
    else:
        judge_one = judges[test["kind"]]
        judged = [judge_one(test, d) for d in datasets]
        refuting = {(d, *part): [r for r in runs if r.labels["data"] == d and r.labels["variant"] in part]
                    for d, (_, verdict) in zip(datasets, judged, strict=True) if verdict == DISAGREES
                    for part in refuting_variants(test, d, runs, results)}
    row.measured = "; ".join(text for text, _ in judged)
    card = measured_card(runs, test["metric"], test.get("at_step")) \
        if test["kind"] != "alike" and claim.get("trained", True) else ""
    row.measured += f" [evaluation: {card}]" if card else ""
    row.verdict = overall(v for _, v in judged)
    if row.verdict == DISAGREES and claim.get("trained", True):
        # a refutation stands on the runs of a part that disagrees: they must have stopped improving
        _unless_still_improving(row, claim, refuting, ratio, results)
    if row.verdict in (AGREES, UNSEPARATED) and claim.get("trained", True):
        _caveat_unfinished(row, claim, runs, ratio)
    return row


def _unless_still_improving(row: ClaimRow, claim: dict[str, Any], refuting: dict[tuple, list],
                            ratio: float | None, results: StudyResults) -> None:
    """A refutation of a claim about trained models needs runs that had stopped improving. ``refuting`` holds the
    runs of each part that disagrees (a dataset's variant, or the two variants of a pair separated the wrong way,
    :func:`wganlab.study.verdicts.refuting_variants`; every run for a comparison across datasets); as one
    disagreeing part decides a row, one part whose every curve of the claim's metric (or ``converged_by``) had
    levelled suffices, and the curves of variants outside the disagreeing parts do not count. When none had (a
    curve still improving at the end of training, or too few evaluations to tell), or the runs had under a tenth
    of the source's budget, or no source budget is known and their learning rate decays to 0 at the last step
    (which levels any curve), the row becomes "not reproduced at N % of the source's budget"."""
    groups = _by_variant({id(run): run for runs in refuting.values() for run in runs}.values())
    parts = [{(r.labels["data"], r.labels["variant"]) for r in runs} for runs in refuting.values()]
    trends = _end_trends(claim, groups)
    shares = {key: budget_ratio(claim, members) for key, members in groups.items()}  # each variant's own
    reachable = {key: _within_reach(claim, key, trends[key], groups[key], results, shares[key]) for key in groups}
    levelled = [keys for keys in parts if all(trends[k].improving is False and not reachable[k] for k in keys)]
    settled = [key for key in groups if any(key in keys for keys in levelled)]
    described = "; ".join(f"{v} on {d}: {trends[(d, v)].text()}" for d, v in settled)
    if settled:  # the refutation's own share of the source's budget: the shortest of its runs', not the row's
        ratio = min((shares[key] for key in settled if shares[key] is not None), default=None)
    if settled and ratio is None and any(_decays_to_zero(run) for key in settled for run in groups[key]):
        # Levelled, but the learning rate reached 0 at the last step, and no source budget says whether these
        # runs were long: the flat end shows the schedule, not a trained model.
        row.verdict = NOT_REPRODUCED
        row.why = (f"at {share_text(ratio)} (convergence not shown: the runs' learning rate decays linearly to 0 "
                   f"at their last step, which levels any curve): {described}")
        return
    if settled and ratio is not None and ratio < MIN_SHARE_TO_REFUTE:
        # Levelled, but at a small fraction of the source's budget: with a schedule that decays the learning rate
        # to 0 (the toys' presets) any run levels by its end, which says nothing about the source's models.
        row.verdict = NOT_REPRODUCED
        row.why = (f"at {share_text(ratio)} (the curves levelled, but at under a tenth of the source's "
                   f"budget that cannot refute a claim about its trained models): {described}")
        return
    if settled:
        row.why = f"stopped improving: {described}"
        return
    open_ended = {key: t for key, t in trends.items() if t.improving is not False or reachable[key]}
    still = any(t.improving for t in open_ended.values())
    reachable_only = bool(open_ended) and all(t.improving is False for t in open_ended.values())  # goal in reach
    state = "still improving" if still else "levelled short of the goal, within reach" if reachable_only else \
        "convergence not shown"
    row.verdict = NOT_REPRODUCED
    row.why = (f"at {share_text(ratio)} ({state}): "
               + "; ".join(f"{v} on {d}: {t.text()}{reachable[(d, v)]}" for (d, v), t in open_ended.items()))


def _by_variant(runs: Any) -> dict[tuple[str, str], list]:
    """A dataset's variant: its runs."""
    groups: dict[tuple[str, str], list] = {}
    for run in runs:
        groups.setdefault((run.labels["data"], run.labels["variant"]), []).append(run)
    return groups


def _end_trends(claim: dict[str, Any], groups: dict[tuple[str, str], list]) -> dict[tuple[str, str], Trend]:
    """Each group's trend at the end of training (up to where the claim reads it), on the first of the claim's
    metric (or ``converged_by``) that its runs log."""
    candidates = variant_names(claim.get("converged_by", claim["test"]["metric"]))
    until = last_step_read(claim["test"])
    trends = {}
    for key, members in groups.items():
        metric = next((m for m in candidates if any(curve_points(r.metrics, m) for r in members)), candidates[0])
        trends[key] = trend([[(s, v) for s, v in curve_points(r.metrics, metric) if until is None or s <= until]
                             for r in members], metric, _goal_lower(claim["test"], metric),
                             total_reached(members, metric))
    return trends


def _caveat_unfinished(row: ClaimRow, claim: dict[str, Any], runs: list, ratio: float | None) -> None:
    """An agreement, or seeds that cannot separate the variants, stand as the rule decides them, but from runs with
    under a tenth of the source's budget or still improving at their end the row says so: trained on, the models
    compared could still change places or separate, which is why such runs cannot refute a claim either."""
    improving = [f"{v} on {d}: {t.text()}" for (d, v), t in _end_trends(claim, _by_variant(runs)).items()
                 if t.improving]
    if improving or (ratio is not None and ratio < MIN_SHARE_TO_REFUTE):
        row.why = unfinished_caveat(share_text(ratio), row.verdict, improving)


def _goal_lower(test: dict[str, Any], metric: str) -> bool | None:
    """For a threshold on the claim's own metric, which way is towards its goal: "at most 0.2" of a share that is
    higher-is-better still counts as improving when it falls. None: the metric's own direction."""
    if test["kind"] != "reaches" or metric != test["metric"] or test.get("at_least") == "all":
        return None
    lower = goal_is_low(test)
    return None if lower == metric_info(metric).lower_is_better else lower


def _within_reach(claim: dict[str, Any], key: tuple[str, str], found: Trend, runs: list, results: StudyResults,
                  ratio: float | None) -> str:
    """For a threshold claim (``reaches``) whose curve levelled short of the source's budget (``ratio``: these
    runs' share of it, None where unknown): whether the end of the slope's 95% interval on the goal's side, kept
    up to the source's budget (for as many steps again where the source states none), would take the runs to the
    goal from where the verdict would stop disagreeing, and the sentence that says so ('' where it would not, at
    or past the source's budget, or for other kinds of test). No trend beyond noise is not evidence of none:
    -0.13 to +0.37 modes per 1,000 steps, after 20,000 steps with the best seed at 7 of 8 modes, leaves room."""
    test = claim["test"]
    metric = test["metric"]
    if test["kind"] != "reaches" or "at_step" in test or found.metric != metric or found.improving is not False:
        return ""
    values = [v for v in (run_value(r, metric) for r in runs) if v is not None]
    steps = max((r.result or {}).get("steps") or 0 for r in runs)
    more = steps if ratio is None else steps * (1 / ratio - 1) if ratio < 1 else 0
    if len(values) < 2 or not more or not np.isfinite([found.low, found.high]).all():
        return ""
    threshold, bound, wants_low = reaches_goal(test, key[0], runs, results)
    # from where the verdict would stop disagreeing: one seed at the goal for a count judged seed by seed, the
    # 95% interval's end on the goal's side otherwise
    if judged_seed_by_seed(test):
        start, whence = max(values), "its best seed's"
    else:
        interval = t_interval(values)
        start, whence = (interval.low, "its interval's lower end") if wants_low else \
            (interval.high, "its interval's upper end")
    reached = start + (found.low if wants_low else found.high) * more / 1000
    if (reached <= threshold) if wants_low else (reached >= threshold):
        return (f"; the slope interval's end on the goal's side, kept up for {round(more):,} more steps"
                f"{'' if ratio is None else ' (to the source budget)'}, would take {whence} "
                f"{value_text(start, metric)} to the goal ({bound}): no trend beyond noise, but not shown to stay")
    return ""


def _decays_to_zero(run: Any) -> bool:
    """Whether the run's saved config decays its learning rates linearly to 0 at the last step."""
    saved = saved_config(run.run_dir)
    return bool(saved) and saved.get("lr_schedule") == "linear"


def _collect_if_written(directory: Path) -> StudyResults | None:
    return collect(directory) if (directory / MANIFEST_FILE).is_file() else None


def reproduce(out: Path, root: Path = DEFAULT_ROOT, claims_file: Path = CLAIMS_FILE) -> tuple[Path, list[ClaimRow]]:
    """Judge every claim against the study outputs under ``root`` (and ``runs/demo``) and write the page; a claim
    whose study is not there keeps its row from the page at ``out``, if that page measured it."""
    out = Path(out)
    rows, cache, earlier = [], {}, measured_rows(out)
    for claim in load_claims(claims_file):
        where = study_directory(claim, root)
        if where not in cache:  # the study, and a searched study's trials beside it
            cache[where] = _collect_if_written(where)
            cache[where / TRIALS_DIR] = _collect_if_written(where / TRIALS_DIR) if cache[where] is not None else None
        row = judge(claim, cache[where], where, cache[where / TRIALS_DIR])
        kept = earlier.get(row.key)
        if cache[where] is None and claim["test"]["kind"] != "unmeasured" and kept and kept.study == row.study:
            # what the claims file says now (section, quote, differences, the source's budget); what was measured,
            # from the page before
            row = replace(kept, section=row.section, where=row.where, quote=row.quote, differences=row.differences,
                          **carried_budget(claim, kept))
        elif cache[where] is not None and claim.get("figure") and row.verdict != UNMEASURED:
            row.figure = draw_figure(claim, cache[where], out.parent)
            row.table = FIGURE_TABLES.get(claim["figure"], lambda results: "")(cache[where]) if row.figure else ""
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(rows, f"wganlab reproduce --out {out}"), encoding="utf-8")
    return out, rows


