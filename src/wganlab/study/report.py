"""``report.html``: one self-contained page per study (every image embedded, opens from disk, no scripts).

Sections: summary table (mean ± 95% CI over seeds, final and best checkpoints side by side), metric curves
against steps and wall-clock with interval bands (the DTU study, Fig. 6), final-metric bars with error bars (Fig. 4),
loss and Wasserstein-estimate curves (Pan et al., Figs. 7-8), sample grids of a typical and the best run of each
experiment with the typical run's training GIF, class-coverage histograms, time per generator step and in all
(the practical guide, §5.6), training-health flags, failed runs, and the exact commands, configs and package versions.
"""

from __future__ import annotations

import base64
import html
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from wganlab.fileio import atomic_output, read_json
from wganlab.rundir.layout import CONFIG_FILE
from wganlab.study import figures
from wganlab.study.aggregate import (
    Comparison,
    RunRecord,
    StudyResults,
    collect,
    comparisons,
    eval_sample_counts,
    evaluation_card,
    lower_is_better,
    primary_metric,
    run_value,
    summarize,
    variants_by_dataset,
)
from wganlab.study.numbers import metric_info, value_text
from wganlab.study.tables import comparison_table, family_note, ranking_line, tables_by_data, write_tables
from wganlab.study.task import ERROR_FILE

REPORT_FILE = "report.html"
MAX_GIF_BYTES = 4 << 20
PACKAGES = ("wganlab", "torch", "numpy", "scipy", "matplotlib", "torch-fidelity", "ray")
CURVE_LABELS = {"fid": "FID (in training)", "w1": "exact W1 to real points (in training)",
                "w1_batch": "exact batch W1, real vs generated (eval.wasserstein)",
                "critic_estimate": "critic's estimate E[D(x)] − E[D(G(z))] at evaluations (eval.wasserstein)",
                **{key: f"{key} (in training, eval.prdc)" for key in ("coverage", "recall", "precision", "density")}}
STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1200px;color:#222;
padding:0 1rem}
h1{margin-bottom:.2rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0} td,th{border:1px solid #ccc;padding:.25rem .5rem}
th{background:#f3f3f3;text-align:left} td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee} .pair{display:flex;gap:1rem;flex-wrap:wrap}
.pair figure{margin:0} figcaption{font-size:.8rem;color:#555} pre{background:#f7f7f7;padding:.6rem;
overflow-x:auto;font-size:.78rem} .note{color:#555;font-size:.9rem} .bad{color:#a00}
.wide{overflow-x:auto} li.verdict{margin:.35rem 0;font-size:1.05rem} figure.side{width:240px}
figure.side img{width:240px}
"""


def build_report(out: str | Path) -> Path:
    """Aggregate the study at ``out``, write ``summary.csv``, ``summary.md`` and ``report.html``; return the page."""
    results = collect(Path(out))
    rows = summarize(results)
    write_tables(results, rows)
    manifest = results.manifest
    found = comparisons(results)
    parts = [f"<h1>{_e(manifest['name'])} <small>({_e(manifest['scale'])} scale)</small></h1>",
             f"<p>{_e(manifest.get('description', ''))}</p>", _status(results)]
    parts += _verdicts(found)
    parts += _search(Path(out))
    parts += _side_by_side(results)
    parts += _summary(results, rows)
    parts += _pairs(found)
    parts += _curves(results)
    parts += _losses(results)
    parts += _samples(results)
    classes = figures.class_histogram_figure(results)
    if classes:
        parts += ["<h2>Class coverage</h2>", "<p class=note>Share of each class among the final checkpoint's "
                  "samples, as wganlab's classifier labels them, averaged over seeds; ticks: the real data.</p>",
                  _img(classes, "class histograms")]
    parts += _timing(results)
    parts += _health(results)
    parts += _configs(results)
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{_e(manifest['name'])} — wganlab "
            f"study</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    path = Path(out) / REPORT_FILE
    with atomic_output(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _status(results: StudyResults) -> str:
    done = len([r for r in results.runs if r.result is not None])
    failed = [r for r in results.runs if (r.run_dir / ERROR_FILE).is_file() and r.result is None]
    text = f"<p>{done} of {len(results.runs)} runs finished"
    if failed:
        items = "".join(f"<li><b>{_e(r.name)}</b>: {_e(_first_line(r.run_dir / ERROR_FILE))}</li>" for r in failed)
        text += f"; <span class=bad>{len(failed)} failed</span>:</p><ul>{items}</ul>"
    else:
        text += ".</p>"
    return text


def _verdicts(found: list[Comparison]) -> list[str]:
    """The answer first: one sentence per dataset and primary metric (:func:`wganlab.study.compare.verdict`)."""
    if not found:
        return []
    items = "".join(f"<li class=verdict>{_e(c.sentence)}</li>" for c in found)
    return ["<h2>Which is better, and how sure</h2>", f"<ul>{items}</ul>",
            "<p class=note>Each sentence compares the final checkpoints over seeds: differences of means with "
            "Welch's t-test (the exact permutation test for counts bounded by a total, such as modes covered, and "
            "where no seed varied), p-values Holm-corrected over every "
            "pair of the same dataset and metric; \"no difference detectable\" means these seeds cannot separate "
            "the variants, not that they are equal. Every pair is in the tables below.</p>"]


def _side_by_side(results: StudyResults) -> list[str]:
    """Every variant's fixed-noise samples at the last step, one row per dataset (the typical seed of each)."""
    rows: dict[str, list[str]] = {}
    for dataset, variants in variants_by_dataset(results).items():
        for name, done in variants.items():
            typical, _ = _typical_and_best(done)
            frames = sorted((typical.run_dir / "samples").glob("step_*.png"))
            if not frames:
                continue
            rows.setdefault(dataset, []).append(
                f"<figure class=side><img alt='samples of {_e(name)}' src='data:image/png;base64,"
                f"{base64.b64encode(frames[-1].read_bytes()).decode()}'><figcaption><b>{_e(name)}</b> · "
                f"typical seed ({_e(typical.labels.get('seed', typical.name))})</figcaption></figure>")
    if not rows:
        return []
    parts = ["<h2>Samples side by side</h2><p class=note>The last step's fixed-noise samples of each variant's "
             "typical run (the median seed by the primary metric).</p>"]
    for dataset, figures_html in rows.items():
        parts.append((f"<h3>{_e(dataset)}</h3>" if dataset else "") + f"<div class=pair>{''.join(figures_html)}</div>")
    return parts


def _search(out: Path) -> list[str]:
    """A searched study's section: how each variant was tuned, what its trials reached, what was chosen."""
    from wganlab.study.numbers import value_text
    from wganlab.study.search import SEARCH_FILE, TRIALS_DIR

    record = read_json(out / SEARCH_FILE)
    if not isinstance(record, dict) or not record.get("experiments"):
        return []
    seeds = ", ".join(str(s) for s in record["seeds"])
    parts = [f"<h2>Search: every variant tuned alike</h2><p class=note>Each variant had {record['trials']} trials "
             f"at the same budget, its settings drawn from its search space with the same random stream for every "
             f"variant (trial t draws the same quantile of a shared dimension); the best {record['best']} of each "
             f"was re-run on seeds {seeds}, which no trial used: the verdicts above compare those re-runs. The "
             f"trials' own study is in <code>{_e(TRIALS_DIR)}/</code>; trial 0 of each variant is its own preset "
             "settings. The curve is the best metric a search of k trials would find, as a bootstrap of these "
             "trials gives it (median and 95% range of the best of k trials drawn with replacement; a failed "
             "trial counts as the worst outcome), after Lucic et al. 2018.</p>",
             _img(figures.search_figure(record), "best metric after k trials")]
    rows = []
    for experiment in record["experiments"].values():
        metric = experiment["metric"]
        values = sorted(v["value"] for v in experiment["values"] if v["value"] is not None)
        failed = sum(v["value"] is None for v in experiment["values"])
        spread = (f"{value_text(values[0], metric)} / {value_text(float(np.median(values)), metric)} / "
                  f"{value_text(values[-1], metric)}") if values else "–"
        chosen = "; ".join(f"trial {c['trial']}: " + ", ".join(f"{k}={_setting(v)}" for k, v in c["settings"].items())
                           for c in experiment["chosen"])
        space = ", ".join(f"{k}: {kind} {vals}" for k, d in experiment["space"].items() for kind, vals in d.items())
        rows.append(f"<tr><td class=lab>{_e(', '.join(experiment['labels'].values()))}</td><td class=num>"
                    f"{len(values)}{f' ({failed} failed)' if failed else ''}</td><td class=num>{_e(spread)}</td>"
                    f"<td>{_e(chosen)}</td><td>{_e(space)}</td></tr>")
    metric_label = next(iter(record["experiments"].values()))["metric"]
    parts.append(f"<div class=wide><table><tr><th>experiment</th><th>trials</th><th>{_e(metric_label)}: best / "
                 "median / worst trial</th><th>chosen settings</th><th>search space</th></tr>"
                 + "".join(rows) + "</table></div>")
    return parts


def _setting(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _pairs(found: list[Comparison]) -> list[str]:
    if not found:
        return []
    found = [c for c in found if c.ranking.pairs]  # one variant has no pairs to show
    if not found:
        return []
    parts = ["<h2>Every pair</h2>"]
    for comparison in found:
        ranking = comparison.ranking
        header, table = comparison_table(comparison)
        head = "".join(f"<th>{_e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td class={'num' if 0 < i < 7 else 'lab'}>{_e(c)}</td>"
                                        for i, c in enumerate(cells)) + "</tr>" for cells in table)
        title = f"{ranking.dataset}: {ranking.metric}" if ranking.dataset else ranking.metric
        parts.append(f"<h3>{_e(title)}</h3><p>Ranked: {_e(ranking_line(comparison))}</p>"
                     f"<div class=wide><table><tr>{head}</tr>{body}</table></div>"
                     f"<p class=note>{_e(family_note(comparison))}</p>")
    return parts


def _summary(results: StudyResults, rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return ["<h2>Summary</h2><p>No run has finished yet.</p>"]
    parts = ["<h2>Summary</h2>",
             "<p class=note>Mean ± half-width of the 95% Student-t interval over seeds (not the best seed; with few "
             "seeds the interval is honestly wide: t = 12.7 for 2). <i>final</i>: each run's last checkpoint; "
             "<i>best</i>: the checkpoint its in-training evaluation ranked best. Seeds: finished / planned. Final "
             f"metrics on {results.manifest['evaluation_samples']} samples. Every metric and checkpoint is in "
             "summary.csv.</p>"]
    for data, (header, table) in tables_by_data(results, rows).items():
        labels = len(header) - len(table[0]) + header.index("seeds") if table else 0
        head = "".join(f"<th>{_e(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td class={'num' if i > labels else 'lab'}>{_e(c)}</td>"
                                        for i, c in enumerate(cells)) + "</tr>" for cells in table)
        card = evaluation_card([r for r in results.runs if not data or r.labels.get("data") == data])
        parts.append((f"<h3>{_e(data)}</h3>" if data else "") + f"<div class=wide><table><tr>{head}</tr>{body}"
                     "</table></div>" + (f"<p class=note>Evaluation card: {_e(card)}.</p>" if card else ""))
    return parts


def _in_training_samples(results: StudyResults, key: str) -> str:
    """'1,000 samples': what each in-training ``key`` used (eval_samples of the runs that logged it, which a study
    sets; fewer samples bias the FID upwards, so the curves' level depends on it)."""
    counts = eval_sample_counts(results.runs, key)
    if not counts:
        return "samples"
    return f"{counts[0]:,} samples" if len(counts) == 1 else f"{counts[0]:,}–{counts[-1]:,} samples"


def _curves(results: StudyResults) -> list[str]:
    parts = []
    labels = {**CURVE_LABELS, "fid": f"FID (in training, {_in_training_samples(results, 'fid')})"}
    for key, label in labels.items():
        pair = figures.curves_figures(results, key, label)
        if pair is None:
            continue
        parts += [f"<h2>{_e(label)} over training</h2>", _img(pair[0], f"{key} by step"),
                  _img(pair[1], f"{key} by time")]
    for title, png in (("Asked-class accuracy of every run over training (chance: 1 in 10)",
                        figures.seed_curves_figure(results, "class_accuracy", "asked-class accuracy")),
                       ("Critic against the exact batch W1", figures.critic_vs_w1_figure(results)),
                       ("Augmentation: held-out accuracy against generated rows per real row",
                        figures.augmentation_figure(results))):
        if png:
            parts += [f"<h2>{title}</h2>", _img(png, title)]
    for metric in ("fid", "w1", "modes_covered"):
        bars = figures.bars_figure(results, metric)
        if bars:
            parts += [f"<h2>Final {metric}: mean and 95% interval</h2>", _img(bars, f"{metric} bars")]
    return parts


def _losses(results: StudyResults) -> list[str]:
    parts = ["<h2>Losses and Wasserstein estimate</h2>"]
    for panel, lines in figures.panels(results).items():
        png = figures.losses_figure(results, panel, lines)
        if png:
            parts.append(_img(png, f"losses {panel}"))
    return parts if len(parts) > 1 else []


def _samples(results: StudyResults) -> list[str]:
    parts = ["<h2>Samples</h2><p class=note>Fixed-noise samples at the last step: the typical run (median final "
             "metric over seeds) and the best run of each experiment; the GIF shows the typical run's training.</p>"]
    for group, runs in results.groups().items():
        done = results.finished(runs)
        if not done:
            continue
        typical, best = _typical_and_best(done)
        figures_html = [_frame(typical, "typical"), _frame(best, "best") if best is not typical else ""]
        gif = typical.run_dir / "samples" / "progress.gif"
        if gif.is_file() and gif.stat().st_size <= MAX_GIF_BYTES:
            figures_html.append(f"<figure><img alt='training of {_e(typical.name)}' src='data:image/gif;base64,"
                                f"{base64.b64encode(gif.read_bytes()).decode()}'><figcaption>training "
                                f"({_e(typical.name)})</figcaption></figure>")
        parts.append(f"<h3>{_e(', '.join(group))}</h3><div class=pair>{''.join(figures_html)}</div>")
    return parts if len(parts) > 1 else []


def _typical_and_best(runs: list[RunRecord]) -> tuple[RunRecord, RunRecord]:
    metric = primary_metric(runs)
    scored = [(run_value(r, metric), r) for r in runs if metric and run_value(r, metric) is not None]
    if not scored:
        return runs[0], runs[0]
    scored.sort(key=lambda pair: pair[0], reverse=not lower_is_better(metric))
    median = scored[(len(scored) - 1) // 2][1]
    return median, scored[0][1]


def _frame(run: RunRecord, role: str) -> str:
    frames = sorted((run.run_dir / "samples").glob("step_*.png"))
    if not frames:
        return ""
    metric = primary_metric([run])
    value = run_value(run, metric) if metric else None
    caption = f"{role}: {run.name}" + (f", final {metric_info(metric).label} {value_text(value, metric)}"
                                       if value is not None else "")
    return (f"<figure><img alt='{_e(role)} samples' src='data:image/png;base64,"
            f"{base64.b64encode(frames[-1].read_bytes()).decode()}'><figcaption>{_e(caption)}</figcaption></figure>")


def _timing(results: StudyResults) -> list[str]:
    rows = []
    for group, runs in results.groups().items():
        done = results.finished(runs)
        if not done:
            continue
        per_step = [r.result["seconds_per_step"] for r in done]
        total = [r.result["train_seconds"] for r in done]
        wall = [r.result.get("wall_seconds", np.nan) for r in done]
        rows.append(f"<tr><td>{_e(', '.join(group))}</td><td class=num>{np.mean(per_step) * 1000:.1f}</td>"
                    f"<td class=num>{np.mean(total):.1f}</td><td class=num>{np.nansum(total):.1f}</td>"
                    f"<td class=num>{np.nanmean(wall):.1f}</td></tr>")
    if not rows:
        return []
    png = figures.time_figure(results)
    return ["<h2>Time</h2><table><tr><th>experiment</th><th>ms per generator step</th><th>training s per run</th>"
            "<th>training s, all seeds</th><th>wall s per run (with evaluation)</th></tr>" + "".join(rows) +
            "</table>", _img(png, "time per step") if png else ""]


def _health(results: StudyResults) -> list[str]:
    rows = []
    for run in results.runs:
        flags = (run.result or {}).get("health") or read_json(run.run_dir / "health.json") or {}
        for kind, info in flags.items():
            rows.append(f"<tr><td>{_e(run.name)}</td><td>{_e(kind)}</td><td class=num>{info.get('first_step')}"
                        f"</td><td>{_e(info.get('message', ''))}</td></tr>")
    body = ("<table><tr><th>run</th><th>flag</th><th>first step</th><th>what it means</th></tr>" + "".join(rows) +
            "</table>") if rows else "<p>No run raised a training-health flag.</p>"
    return ["<h2>Training health</h2>", body]


def _configs(results: StudyResults) -> list[str]:
    parts = ["<h2>Exact configurations</h2><p class=note>Each run is one <code>wganlab train</code> command; the "
             "resolved config of each experiment's first seed follows (the seed is the only difference).</p>"]
    for group, runs in results.groups().items():
        run = runs[0]
        config = run.run_dir / CONFIG_FILE
        text = config.read_text(encoding="utf-8") if config.is_file() else "(not started)"
        parts.append(f"<details><summary>{_e(', '.join(group))}</summary><pre>{_e(run.command)}</pre>"
                     f"<pre>{_e(text)}</pre></details>")
    versions = {name: _version(name) for name in PACKAGES}
    versions["python"] = platform.python_version()
    versions["platform"] = platform.platform()
    first = next((r for r in results.runs if (r.run_dir / "run.json").is_file()), None)
    trained = read_json(first.run_dir / "run.json") if first else None
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in versions.items())
    parts.append(f"<h3>Package versions</h3><table><tr><th>package</th><th>when this report was built</th></tr>"
                 f"{rows}</table>")
    if trained:
        parts.append(f"<p class=note>Runs trained with wganlab {_e(trained.get('wganlab'))}, torch "
                     f"{_e(trained.get('torch'))}, Python {_e(trained.get('python'))} on {_e(trained.get('device'))}"
                     ".</p>")
    return parts


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return f"<img alt='{_e(alt)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _first_line(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        return ""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
