"""A study's results as tables: the CSV and markdown summaries written beside the runs, the wide table of every
variant's metrics, and each comparison's pairwise table with the test it used. The HTML report renders the same
tables (:mod:`wganlab.study.report`)."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from wganlab.study.aggregate import (
    BEST_COLUMNS,
    TIMES,
    Comparison,
    StudyResults,
    comparisons,
    evaluation_card,
    metric_names,
)
from wganlab.study.compare import MIN_SEEDS
from wganlab.study.intervals import Interval
from wganlab.study.numbers import header as metric_header
from wganlab.study.numbers import plus_minus, value_text


def cell_text(row: dict[str, Any]) -> str:
    """A table cell: mean ± interval; for a count with its total, the mean and how many seeds reach all of it
    (``7.4; 4 of 5 seeds all 8``), since a t-interval describes bimodal counts badly."""
    interval: Interval = row["interval"]
    if "total" in row and interval.n > 1:
        mean = value_text(interval.mean, row["metric"])
        return f"{mean}; {row['reach_all']} of {interval.n} seeds all {row['total']}"
    return interval.text(row["metric"])


def write_tables(results: StudyResults, rows: list[dict[str, Any]]) -> tuple[Path, Path]:
    """``summary.csv`` (one row per experiment, metric and checkpoint) and ``summary.md`` (mean ± 95% CI)."""
    csv_path, md_path = results.out / "summary.csv", results.out / "summary.md"
    columns = [*results.group_axes, "metric", "checkpoint", "seeds", "runs", "mean", "std", "ci_low", "ci_high"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (_csv(v) if isinstance(v, float) else v) for k, v in row.items()})
    csv_path.write_text(buffer.getvalue(), encoding="utf-8")
    found = comparisons(results)
    lines = [f"# {results.manifest['name']} ({results.manifest['scale']})", "", "## Verdicts", ""]
    lines += [f"- {c.sentence}" for c in found] or ["- No run has finished yet."]
    lines += ["", "Mean ± half-width of the 95% t-interval over seeds, with the digits the interval supports; "
              "`final` is each run's last checkpoint, `best` the checkpoint its in-training evaluation ranked best."]
    for data, (header, table) in tables_by_data(results, rows).items():
        lines += ["", f"## {data}" if data else "", "", *_markdown(header, table)]
        card = evaluation_card([r for r in results.runs if not data or r.labels.get("data") == data])
        lines += ["", f"Evaluation: {card}."] if card else []
    for comparison in (c for c in found if c.ranking.pairs):  # one variant has no pairs to show
        ranking = comparison.ranking
        lines += ["", f"### {ranking.dataset + ': ' if ranking.dataset else ''}pairs by {ranking.metric}", "",
                  f"Ranked: {ranking_line(comparison)}", "", *_markdown(*comparison_table(comparison)), "",
                  family_note(comparison)]
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return csv_path, md_path


def _markdown(header: list[str], table: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *["| " + " | ".join(c) + " |" for c in table]]


def wide_table(results: StudyResults, rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and cells: one line per experiment, a column per metric and checkpoint (final, best side by side);
    only the metrics these rows have, so a table of one dataset has no empty columns of another's."""
    order = {m: i for i, m in enumerate([*metric_names(results), *TIMES])}
    stages = {"final": 0, "best": 1, "run": 2}
    columns = sorted({(row["metric"], row["checkpoint"]) for row in rows
                      if row["checkpoint"] != "best" or row["metric"] in BEST_COLUMNS},
                     key=lambda c: (order.get(c[0], len(order)), stages[c[1]]))
    axes = [a for a in results.group_axes if len({row[a] for row in rows}) > 1 or len(results.group_axes) == 1]
    by_group: dict[tuple[str, ...], dict[tuple[str, str], str]] = defaultdict(dict)
    seeds: dict[tuple[str, ...], str] = {}
    for row in rows:
        group = tuple(row[a] for a in axes)
        by_group[group][(row["metric"], row["checkpoint"])] = cell_text(row)
        seeds[group] = f"{row['seeds']}/{row['runs']}"
    header = [*axes, "seeds", *[metric_header(m, c) for m, c in columns]]
    table = [[*group, seeds[group], *[cells.get(c, "–") for c in columns]] for group, cells in by_group.items()]
    return header, table


def tables_by_data(results: StudyResults, rows: list[dict[str, Any]]) -> dict[str, tuple[list[str], list[list[str]]]]:
    """One wide table per dataset (the ``data`` axis), or a single table when the study has no such axis."""
    if "data" not in results.group_axes:
        return {"": wide_table(results, rows)}
    datasets = list(dict.fromkeys(row["data"] for row in rows))
    return {name: wide_table(results, [r for r in rows if r["data"] == name]) for name in datasets}


def comparison_table(comparison: Comparison) -> tuple[list[str], list[list[str]]]:
    """Every pair of one ranking: the difference of means with its 95% Welch interval (none for the exact
    permutation test of bounded counts), raw and Holm p-values, and the pair's one decision
    (:attr:`~wganlab.study.compare.PairComparison.decision`), the same the verdict sentence reads."""
    ranking = comparison.ranking
    metric = ranking.metric
    header = ["pair", f"difference of means ({metric_header(metric)})", "95% interval", "p (raw)",
              "p (Holm)", "test", "seeds", "verdict"]
    rows = []
    for pair in ranking.pairs:
        half = (pair.high - pair.low) / 2
        interval = f"{value_text(pair.low, metric)} to {value_text(pair.high, metric)}" if math.isfinite(half) \
            else "–"
        rows.append([f"{pair.first} − {pair.second}", plus_minus(pair.difference, half, metric), interval,
                     _p(pair.p_value), _p(pair.p_holm), pair.test, f"{pair.n_first} vs {pair.n_second}",
                     pair.decision])
    return header, rows


def family_note(comparison: Comparison) -> str:
    """The sentence under a pairs table: which tests, and which p-values were corrected together."""
    ranking = comparison.ranking
    tests = {pair.test for pair in ranking.pairs}
    used = " and ".join(sorted(TEST_NAMES[t] for t in tests)) or "no test"
    count = len(ranking.pairs)
    where = f"{ranking.dataset or 'this study'}, {ranking.metric}"
    return (f"Tests: {used}. Holm's correction over the {count} pair{'s' if count != 1 else ''} of this table "
            f"({where}); a pair with fewer than {MIN_SEEDS} seeds on either side is not decided.")


TEST_NAMES = {"welch": "Welch's t-test (95% Welch interval)",
              "permutation": "the exact permutation test of the means (bounded counts, or seeds that never vary)"}


def ranking_line(comparison: Comparison) -> str:
    """``1. wgan-gp 8 · 2. wgan-sn 7.6 · ...``: the order by mean, best first."""
    ranking = comparison.ranking
    return " · ".join(f"{i}. {name} {value_text(mean, ranking.metric)}"
                      for i, (name, mean, _) in enumerate(ranking.order, start=1))


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _csv(value: float) -> str:
    return "" if not math.isfinite(value) else repr(value)
