"""The study report's figures as PNG bytes: curves with interval bands, bars with error bars, class histograms.

Every figure has one panel per dataset (the ``data`` axis, when the study has one) and one line or bar per
experiment on it, so the variants of a study are compared on the same axes.
"""

from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from wganlab.study.aggregate import RunRecord, StudyResults, curve, run_value, t_interval
from wganlab.study.convergence import curve_points

PANEL_AXIS = "data"
# Where a metric cannot go: intervals drawn past it (a t-interval over 2 seeds is wide) are cut at the bound.
BOUNDS = {"fid": (0.0, math.inf), "w1": (0.0, math.inf), "modes_covered": (0.0, math.inf),
          "high_quality": (0.0, 1.0), "classes_covered": (0.0, math.inf), "seconds_per_step": (0.0, math.inf),
          "class_accuracy": (0.0, 1.0)}


def _clip(metric: str, values: np.ndarray) -> np.ndarray:
    low, high = BOUNDS.get(metric, (-math.inf, math.inf))
    return np.clip(values, low, high)
LOSS_KEYS = (("d_loss", "discriminator / critic loss"), ("g_loss", "generator loss"),
             ("wasserstein_estimate", "Wasserstein estimate E[D(x)] − E[D(G(z))]"))


def panels(results: StudyResults) -> dict[str, dict[str, list[RunRecord]]]:
    """panel (dataset) -> line label (the other axes' values) -> that experiment's runs."""
    axes = results.group_axes
    out: dict[str, dict[str, list[RunRecord]]] = {}
    for group, runs in results.groups().items():
        labels = dict(zip(axes, group, strict=True))
        panel = labels.pop(PANEL_AXIS, "all runs")
        line = ", ".join(labels.values()) or "runs"
        out.setdefault(panel, {})[line] = runs
    return out


def _figure(count: int, width: float = 5.0, height: float = 3.6) -> tuple[plt.Figure, list[plt.Axes]]:
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), dpi=90, squeeze=False)
    flat = list(axes.flat)
    for extra in flat[count:]:
        extra.axis("off")
    return fig, flat[:count]


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def curves_figures(results: StudyResults, key: str, ylabel: str | None = None) -> tuple[bytes, bytes] | None:
    """Mean of ``key`` over seeds against steps and against wall-clock seconds (two figures from the same
    curves), shaded by its 95% interval; None when no run logged ``key``."""
    layout = panels(results)
    data = {p: {line: curve(runs, key) for line, runs in lines.items()} for p, lines in layout.items()}
    data = {p: {k: c for k, c in lines.items() if c is not None} for p, lines in data.items()}
    data = {p: lines for p, lines in data.items() if lines}
    if not data:
        return None
    pngs = []
    for x, xlabel in (("step", "generator step"), ("seconds", "training wall-clock (s)")):
        fig, axes = _figure(len(data))
        for ax, (panel, lines) in zip(axes, data.items(), strict=True):
            for line, values in lines.items():
                # a marker at each evaluation: a run evaluated once (or a short one) is a dot, not nothing
                ax.plot(values[x], values["mean"], label=f"{line} (n={values['n']})", lw=1.5, marker="o", ms=3)
                ax.fill_between(values[x], _clip(key, values["low"]), _clip(key, values["high"]), alpha=0.2)
            ax.set(title=panel, xlabel=xlabel, ylabel=ylabel or key)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        pngs.append(_png(fig))
    return pngs[0], pngs[1]


def seed_curves_figure(results: StudyResults, key: str, ylabel: str | None = None) -> bytes | None:
    """Every run's own curve of ``key`` over steps, one colour per experiment: where seeds split (some runs
    learn a thing, others never do) a mean and its interval describe no run, and this shows each."""
    layout = {panel: {line: [points for points in (curve_points(r.metrics, key) for r in runs) if points]
                      for line, runs in lines.items()} for panel, lines in panels(results).items()}
    layout = {p: {k: c for k, c in lines.items() if c} for p, lines in layout.items()}
    layout = {p: lines for p, lines in layout.items() if lines}
    if not layout:
        return None
    fig, axes = _figure(len(layout))
    for ax, (panel, lines) in zip(axes, layout.items(), strict=True):
        for index, (line, runs) in enumerate(lines.items()):
            for number, points in enumerate(runs):
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, color=f"C{index}", lw=1.2, marker="o", ms=2.5, alpha=0.8,
                        label=f"{line} ({len(runs)} seeds)" if number == 0 else None)
        ax.set(title=panel, xlabel="generator step", ylabel=ylabel or key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _png(fig)


def bars_figure(results: StudyResults, metric: str, ylabel: str | None = None,
                checkpoints: tuple[str, ...] = ("final", "best")) -> bytes | None:
    """Means per experiment with 95% interval error bars, one bar per checkpoint side by side: final and best
    (the DTU study's Fig. 4), or ``("run",)`` for a per-run quantity such as seconds per step."""
    rows = {}
    for panel, lines in panels(results).items():
        entries = {line: [t_interval([v for v in (run_value(r, metric, c) for r in runs) if v is not None])
                          for c in checkpoints] for line, runs in lines.items()}
        entries = {line: pair for line, pair in entries.items() if pair[0].n}
        if entries:
            rows[panel] = entries
    if not rows:
        return None
    grouped = len(checkpoints) > 1
    width = 0.8 / len(checkpoints)
    fig, axes = _figure(len(rows))
    for ax, (panel, entries) in zip(axes, rows.items(), strict=True):
        positions = np.arange(len(entries))
        for index, name in enumerate(checkpoints):
            means = np.array([e[index].mean for e in entries.values()])
            half = np.array([e[index].half_width if e[index].n > 1 else 0.0 for e in entries.values()])
            errors = [means - _clip(metric, means - half), _clip(metric, means + half) - means]
            ax.bar(positions - 0.4 + width * (index + 0.5), means, width, yerr=errors, capsize=4,
                   label=f"{name} checkpoint" if grouped else None, color=None if grouped else "tab:gray")
        ax.set_xticks(positions, list(entries), rotation=20, ha="right", fontsize=8)
        ax.set(title=panel, ylabel=ylabel or metric)
        ax.grid(alpha=0.3, axis="y")
        if grouped:
            ax.legend(fontsize=7)
    fig.text(0.01, 0.005, "error bars: 95% t-interval over seeds, cut at the metric's bounds", fontsize=7)
    return _png(fig)


def losses_figure(results: StudyResults, panel: str, lines: dict[str, list[RunRecord]]) -> bytes | None:
    """Discriminator loss, generator loss and the Wasserstein estimate over steps for one dataset."""
    curves = {key: {line: curve(runs, key) for line, runs in lines.items()} for key, _ in LOSS_KEYS}
    present = [(key, title) for key, title in LOSS_KEYS if any(c is not None for c in curves[key].values())]
    if not present:
        return None
    fig, axes = _figure(len(present))
    for ax, (key, title) in zip(axes, present, strict=True):
        for line, values in curves[key].items():
            if values is None:
                continue
            ax.plot(values["step"], values["mean"], label=line, lw=1.2)
            ax.fill_between(values["step"], values["low"], values["high"], alpha=0.2)
        ax.set(title=f"{panel}: {title}", xlabel="generator step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _png(fig)


def class_histogram_figure(results: StudyResults) -> bytes | None:
    """Mean share of each class among generated samples per experiment, the real data's share as black ticks."""
    def shares(run: RunRecord, key: str) -> np.ndarray | None:
        counts = ((run.result or {}).get("final") or {}).get(key)
        return None if not counts else np.asarray(counts, float) / max(sum(counts), 1)

    rows = {}
    for panel, lines in panels(results).items():
        entries, real = {}, None
        for line, runs in lines.items():
            found = [s for s in (shares(r, "class_counts") for r in runs) if s is not None]
            if found:
                entries[line] = np.mean(found, axis=0)
                real = next((s for s in (shares(r, "real_class_counts") for r in runs) if s is not None), real)
        if entries:
            rows[panel] = (entries, real)
    if not rows:
        return None
    fig, axes = _figure(len(rows), width=6.0)
    for ax, (panel, (entries, real)) in zip(axes, rows.items(), strict=True):
        classes = np.arange(len(next(iter(entries.values()))))
        width = 0.8 / len(entries)
        for index, (line, mean) in enumerate(entries.items()):
            ax.bar(classes - 0.4 + width * (index + 0.5), mean, width, label=line)
        if real is not None:
            ax.scatter(classes, real, marker="_", s=200, c="black", label="real data", zorder=3)
        ax.set(title=f"{panel}: class mix of generated samples", xlabel="class", ylabel="share", xticks=classes)
        ax.legend(fontsize=7)
    return _png(fig)


def time_figure(results: StudyResults) -> bytes | None:
    """Seconds per generator step per experiment (mean and 95% interval over seeds)."""
    return bars_figure(results, "seconds_per_step", "seconds per generator step", checkpoints=("run",))


def critic_vs_w1_figure(results: StudyResults) -> bytes | None:
    """Stanczuk et al.'s question on one set of axes: per dataset, each variant's exact batch W1 between real and
    generated samples (solid) and its critic's estimate of it (dashed, same colour), means over seeds with their
    95% band, beside Stanczuk et al.'s baselines (grey: two real batches, a real batch against k-means centroids);
    None unless some run measured both (``eval.wasserstein``)."""
    grouped = panels(results)
    layout = {}
    for panel, lines in grouped.items():
        pairs = {line: (curve(runs, "w1_batch"), curve(runs, "critic_estimate")) for line, runs in lines.items()}
        pairs = {line: pair for line, pair in pairs.items() if pair[0] is not None and pair[1] is not None}
        if pairs:
            layout[panel] = pairs
    if not layout:
        return None
    fig, axes = _figure(len(layout))
    for ax, (panel, pairs) in zip(axes, layout.items(), strict=True):
        for index, (line, (exact, estimate)) in enumerate(pairs.items()):
            colour = f"C{index}"
            ax.plot(exact["step"], exact["mean"], color=colour, lw=1.5, label=f"{line}: exact batch W1")
            ax.fill_between(exact["step"], exact["low"], exact["high"], color=colour, alpha=0.15)
            ax.plot(estimate["step"], estimate["mean"], color=colour, lw=1.5, ls="--",
                    label=f"{line}: critic's estimate")
            ax.fill_between(estimate["step"], estimate["low"], estimate["high"], color=colour, alpha=0.1)
        runs = [run for experiment in grouped[panel].values() for run in experiment]
        for key, label, style in (("w1_real_real", "baseline: two real batches", ":"),
                                  ("w1_real_centroids", "baseline: a real batch vs k-means centroids", "-.")):
            baseline = t_interval([run_value(run, key) for run in runs])
            if baseline.n:
                ax.axhline(baseline.mean, color="grey", ls=style, lw=1, label=label)
        ax.set(title=panel, xlabel="generator step", ylabel="W1 (data space)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.text(0.01, 0.005, "means over seeds, bands: 95% t-interval", fontsize=7)
    return _png(fig)


def augmentation_figure(results: StudyResults) -> bytes | None:
    """``eval.augment`` in a study: per dataset, held-out accuracy against generated rows per real row (0: real
    rows only) for each variant, mean over seeds with 95% error bars; the filtered arm (as many generated rows,
    the high-quality ones only) as a star beside ratio 1; GAN-train (generated rows only) as a dashed line in the
    variant's colour. None unless some run was scored."""
    layout = {}
    for panel, lines in panels(results).items():
        found = {}
        for line, runs in lines.items():
            finals = [(r.result or {}).get("final") or {} for r in runs]
            ratios = sorted({float(k.removeprefix("accuracy_x")) for f in finals for k in f
                             if k.startswith("accuracy_x")})
            if not ratios:
                continue
            points = [t_interval([run_value(r, "accuracy_real") for r in runs])]
            points += [t_interval([run_value(r, f"accuracy_x{ratio:g}") for r in runs]) for ratio in ratios]
            filtered = t_interval([run_value(r, "accuracy_filtered_x1") for r in runs])  # n = 0: not scored
            found[line] = ([0.0, *ratios], points, t_interval([run_value(r, "accuracy_generated") for r in runs]),
                           filtered)
        if found:
            layout[panel] = found
    if not layout:
        return None
    fig, axes = _figure(len(layout))
    for ax, (panel, found) in zip(axes, layout.items(), strict=True):
        for index, (line, (ratios, points, generated, filtered)) in enumerate(found.items()):
            colour = f"C{index}"
            means = np.array([p.mean for p in points])
            half = np.nan_to_num(np.array([p.half_width for p in points]))
            ax.errorbar(np.array(ratios) + 0.04 * index, means, yerr=half, color=colour, marker="o", capsize=3,
                        label=f"{line}: real + generated (n={points[0].n})")
            if filtered.n:  # as many generated rows, kept for quality (wganlab's filter)
                ax.errorbar([1.0 + 0.04 * index + 0.12], [filtered.mean], yerr=[np.nan_to_num(filtered.half_width)],
                            color=colour, marker="*", markersize=9, capsize=3, linestyle="none",
                            label=f"{line}: real + 1x filtered")
            ax.axhline(generated.mean, color=colour, ls="--", lw=1, label=f"{line}: generated only (GAN-train)")
        ax.set(title=panel, xlabel="generated rows per real row (0: real rows only)",
               ylabel="held-out accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    fig.text(0.01, 0.005, "means over seeds (each seed: the mean over the classifier seeds), error bars: 95% "
             "t-interval", fontsize=7)
    return _png(fig)


def search_figure(record: dict) -> bytes | None:
    """The best metric a search of k trials finds for each variant (Lucic et al.'s curves): the median over a
    bootstrap of the trials with its 95% band, failed trials counted as the worst outcome; one panel per dataset."""
    from wganlab.study.numbers import metric_info
    from wganlab.study.search import best_after_k

    by_panel: dict[str, list[tuple[str, dict]]] = {}
    for experiment in record.get("experiments", {}).values():
        labels = dict(experiment["labels"])
        panel = labels.pop(PANEL_AXIS, "all runs")
        by_panel.setdefault(panel, []).append((", ".join(labels.values()) or "runs", experiment))
    if not by_panel:
        return None
    fig, axes = _figure(len(by_panel))
    for ax, (panel, lines) in zip(axes, by_panel.items(), strict=True):
        metric = lines[0][1]["metric"]
        drawn = []
        for label, experiment in lines:
            values = [v["value"] for v in experiment["values"]]  # failed trials too: they spent the budget
            found = best_after_k(values, experiment["lower_is_better"])
            failed = f", {found['failed']} of {len(values)} failed" if found["failed"] else ""
            ax.plot(found["k"], _clip(metric, found["median"]), label=f"{label}{failed}")
            ax.fill_between(found["k"], _clip(metric, found["low"]), _clip(metric, found["high"]), alpha=0.2)
            drawn += [found["low"], found["high"]]
        ax.set(title=panel, xlabel="trials", ylabel=f"best {metric_info(metric).label} so far")
        if _wants_log_axis(np.concatenate(drawn)):  # trials that never trained would flatten the ones that did
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    return _png(fig)


def _wants_log_axis(values: np.ndarray, ratio: float = 20.0) -> bool:
    """Whether positive ``values`` span a factor of more than ``ratio`` (a search's FIDs: 50 for a trial that
    trained, 3,000 for one that did not), so that a log axis shows the differences that matter."""
    finite = values[np.isfinite(values)]
    return bool(finite.size) and finite.min() > 0 and finite.max() / finite.min() > ratio
