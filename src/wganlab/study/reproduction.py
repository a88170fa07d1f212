"""``docs/reproduction.md``: the source studies' claims, each re-measured by a shipped study, with a verdict.

The page is written only from study outputs (``result.json`` of every run), so its numbers cannot drift from the
runs: ``wganlab reproduce`` reads ``claims.yaml`` beside this module, finds each claim's study directory, and
decides the verdict by a rule stated in the claims file:

- ``beats``: the variant the claim says is better beats the other at Holm-corrected p < 0.05 over seeds (the same
  pairwise comparison as the study's report); the reverse disagrees; anything else is "not separable" with the
  seeds there are.
- ``reaches``: every named variant's 95% interval lies on the good side of a threshold (for W1 on a toy: a
  multiple of the W1 between two independent real samples of the same size, the sampling floor).
- ``improves``: within each run, ``metric`` beats ``baseline`` (e.g. accuracy with generated rows added against
  real rows only), paired over seeds: the whole 95% interval of the differences on the better side agrees, on
  the worse side disagrees.
- ``alike``: the variants' in-training ``metric`` at the listed ``steps`` (the evaluations every run logs, read
  from unfinished runs too): disagrees when some pair separates at Holm-corrected p < 0.05 at some step (Holm
  over the pairs of that step), otherwise "not separable" — never "agrees": seeds that cannot tell variants apart
  do not show that they are alike.
- ``unmeasured``: the claim cannot be measured here, or has not been yet, and the row says why.

A study takes minutes to hours, and its outputs live under ``runs/`` (not in git), so a checkout rarely holds all
of them. A row whose study is not found is therefore carried over from the page being rewritten, with the day it
was measured, if that page measured the same claim (same source and text); the rows travel in a comment at the
end of the page. The page says which rows were re-measured now and which were kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import MISSING, asdict, dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from wganlab.errors import WganlabError
from wganlab.fileio import read_json
from wganlab.rundir import RUN_INFO_FILE
from wganlab.study import figures
from wganlab.study.aggregate import (
    TOTALS,
    Comparison,
    StudyResults,
    collect,
    comparisons,
    run_value,
    t_interval,
)
from wganlab.study.compare import rank_variants
from wganlab.study.numbers import metric_info, p_text, plus_minus, value_text
from wganlab.study.runner import MANIFEST_FILE

CLAIMS_FILE = Path(__file__).parent / "claims.yaml"
DEFAULT_ROOT = Path("runs/studies")
AGREES, DISAGREES, UNSEPARATED, UNMEASURED = "agrees", "disagrees", "not separable", "not measured"


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
    tree = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    claims = tree.get("claims") if isinstance(tree, dict) else None
    if not isinstance(claims, list):
        raise WganlabError(f"'{path}' must hold 'claims:', a list of claims")
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
    """One row of the page: what was measured for this claim and whether it agrees."""
    test = claim["test"]
    row = ClaimRow(claim["source"], " ".join(str(claim["claim"]).split()), study_label(claim), "–", "–", "–",
                   UNMEASURED)
    if test["kind"] == "unmeasured":
        row.why = " ".join(str(test["reason"]).split())
        return row
    if results is None:
        row.why = f"not run yet: `{study_command(claim, where)}`"
        return row
    datasets = test["data"] if isinstance(test["data"], list) else [test["data"]]
    variants = test.get("variants") or [*_names(test["better"]), *_names(test["worse"])]
    during = test["kind"] == "alike"  # read from the runs' logged evaluations, finished or not
    runs = [r for r in results.runs if (during or r.result is not None) and r.labels.get("data") in datasets
            and r.labels.get("variant") in variants]
    if not runs:
        row.why = f"the study at {where} has no finished run of {', '.join(variants)} on {', '.join(datasets)}"
        return row
    seeds = sorted({sum(1 for r in runs if r.labels["data"] == d and r.labels["variant"] == v)
                    for d in datasets for v in variants})
    row.seeds = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    row.cpu_time = _minutes(sum(_train_seconds(r) for r in runs))
    row.measured_on = date.today().isoformat()
    found = comparisons(results, (test["metric"],)) if test["kind"] == "beats" else []
    judges = {"reaches": lambda d: _judge_reaches(test, d, runs, results),
              "beats": lambda d: _judge_beats(test, d, found), "improves": lambda d: _judge_improves(test, d, runs),
              "alike": lambda d: _judge_alike(test, d, runs)}
    judged = [judges[test["kind"]](d) for d in datasets]
    row.measured = "; ".join(text for text, _ in judged)
    row.verdict = _overall(v for _, v in judged)
    return row


def _overall(verdicts: Iterable[str]) -> str:
    """Several parts of one claim (datasets, variants, pairs): one disagreeing part decides, all must agree."""
    verdicts = set(verdicts)
    return DISAGREES if DISAGREES in verdicts else AGREES if verdicts == {AGREES} else UNSEPARATED


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
        interval = t_interval([v for v in values if v is not None])
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


def _judge_beats(test: dict[str, Any], dataset: str, found: list[Comparison]) -> tuple[str, str]:
    """Each ``better`` variant against each ``worse`` one (either may be a list: "WGAN-GP is the slowest" is
    WGAN-GP worse than each of the others); agrees only when every pair separates the claimed way."""
    metric = test["metric"]
    found = [c for c in found if c.ranking.dataset == dataset and c.ranking.metric == metric]
    info = metric_info(metric)
    ranking = found[0].ranking if found else None
    means = {name: mean for name, mean, _ in ranking.order} if ranking else {}
    parts, verdicts = [], []
    for better in _names(test["better"]):
        for worse in _names(test["worse"]):
            pair = ranking.pair(better, worse) if ranking else None
            if pair is None:
                parts.append(f"{better} or {worse} has no {metric}")
                verdicts.append(UNSEPARATED)
                continue
            parts.append(f"{better} {value_text(means[better], metric)} vs {worse} {value_text(means[worse], metric)}, "
                         f"difference {_signed(pair, metric)}, {p_text(pair.p_holm)} (Holm)")
            better_is_better = (pair.difference < 0) == info.lower_is_better
            verdicts.append(UNSEPARATED if not pair.significant else AGREES if better_is_better else DISAGREES)
    return f"{dataset} {info.label}: {'; '.join(parts)}", _overall(verdicts)


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
                     f"paired difference {interval.text(metric)}")
    verdict = _overall(verdicts)
    return (f"{dataset} {info.label} against {metric_info(baseline).label}: {'; '.join(parts)}"), verdict


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
    counts = {v: sum(r.verdict == v for r in rows) for v in (AGREES, DISAGREES, UNSEPARATED, UNMEASURED)}
    days = sorted({r.measured_on for r in rows if r.measured_on})
    lines = [
        "# The studies' claims, re-measured",
        "",
        f"Written by `{command}` on {date.today().isoformat()} from the studies' outputs; do not edit by hand. "
        "Each row is one claim of a source study, the shipped study that re-measures it, the seeds and the time "
        "its runs took (training only, on CPUs unless the claim names a GPU; seeds trained stacked count their "
        "share of the stack), what was measured (mean ± 95% t-interval over seeds) and the verdict: "
        "*agrees* / *disagrees* (decided by the rule in `src/wganlab/study/claims.yaml`: Holm-corrected p < 0.05 "
        "for comparisons, the whole interval past the goal for thresholds), *not separable* (these seeds cannot "
        "decide it) or *not measured* (and why).",
        "",
        f"{counts[AGREES]} agree, {counts[DISAGREES]} disagree, {counts[UNSEPARATED]} not separable, "
        f"{counts[UNMEASURED]} not measured."
        + (f" Measured on {', '.join(days)} (the *on* column): a row whose study was not found when the page was "
           "rewritten is kept from the page before, with the day it was measured." if len(days) > 1 else ""),
        "",
        "| source | claim | study | seeds | time | on | measured | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    drawn: dict[str, tuple[str, str]] = {}  # figure -> (study, its table), each shown once
    for row in rows:
        verdict = f"**{row.verdict}**" + (f": {row.why}" if row.why else "")
        measured = row.measured + (f" ([figure]({row.figure}))" if row.figure else "")
        lines.append(f"| {row.source} | {row.claim} | `{row.study}` | {row.seeds} | {row.cpu_time} | "
                     f"{row.measured_on or '–'} | {measured} | {verdict} |")
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
            row = kept
        elif cache[where] is not None and claim.get("figure"):
            row.figure = _draw(claim, cache[where], out.parent)
            row.table = FIGURE_TABLES.get(claim["figure"], lambda results: "")(cache[where]) if row.figure else ""
        rows.append(row)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(rows, f"wganlab reproduce --out {out}"), encoding="utf-8")
    return out, rows


AUGMENT_COLUMNS = {"accuracy_real": "real only", "accuracy_generated": "generated only (GAN-train)",
                   "accuracy_x0.5": "real + 0.5x", "accuracy_x1": "real + 1x", "accuracy_x2": "real + 2x",
                   "accuracy_x4": "real + 4x", "gan_test": "GAN-test"}


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
