"""Fair by budget: a study's variants each tuned by the same search, then their best settings re-run on fresh seeds.

Lucic et al. (2018, "Are GANs Created Equal?") found that most GAN variants reach similar FIDs once each gets the
same hyperparameter search and random restarts, and that results should be read as distributions over the
search, not as best runs. The DTU study of Gribsvad & Bundgaard-Nielsen ends on the same caveat: it tuned its
networks for the GAN and asks for "a comprehensive hyperparameter search for both the GAN and WGAN". A study file
says it with a ``search:`` section::

    search:
      trials: 16          # per variant (and dataset), each one run at the study's budget (its steps)
      best: 1             # the best configurations of each variant, re-run ...
      seeds: [0, 1, 2, 3, 4]  # ... on these seeds, which no trial uses (trials train on seeds 1000, 1001, ...)
      metric: auto        # what ranks the trials: FID for images, W1 for 2D points, or any metric a run reports
      stream: 0           # the search's random stream
      space:              # per variant; a variant without one gets the default space of its objective
        wgan-gp: {g_optimizer.lr+d_optimizer.lr: {log_uniform: [1.0e-5, 1.0e-2]}, critic_steps: {choice: [1, 5]}}

A dimension's key names the config keys one draw sets (``a+b``: the same value for both). Trial ``t`` draws every
dimension from its own uniform number, a function of (stream, t, the dimension's keys) only, so two variants that
search the same dimension draw the same quantile of it in the same trial, and every trial trains on the same seed
(1000 + t) for every variant: no variant is luckier in its draws than another. A variant with more dimensions has
a larger space to cover with the same trials, which is what an equal budget means. Trial 0 is each variant's own
settings (``defaults_first``), so a search never does worse than the preset; searched keys may not be axes.

The trials are a study of their own in ``OUT/trials`` (axes: the study's, plus ``trial``); the re-runs of the
best configurations are the study in ``OUT``, whose report gives the usual verdicts between variants on the fresh
seeds, and a section on the search: each variant's trial metrics, the best metric found after k trials (with
bands from a bootstrap of the trials, failed trials counted as the worst outcome), and the chosen settings in
full (``OUT/search.json``). Interrupted searches resume run by run;
trial runs whose config the study no longer asks for (a changed space) are refused like any changed run.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wganlab.config import registered_sections
from wganlab.errors import WganlabError
from wganlab.study.numbers import METRIC_INFO, metric_info
from wganlab.study.overrides import as_overrides, last_wins

SEARCH_KEYS = {"trials", "best", "seeds", "metric", "stream", "space", "defaults_first"}
DIMENSION_KINDS = ("log_uniform", "uniform", "choice")
TRIAL_SEED_BASE = 1000  # trial t trains on seed 1000 + t
TRIAL_AXIS = "trial"
TRIALS_DIR = "trials"
SEARCH_FILE = "search.json"
BOOTSTRAP_RESAMPLES = 1000


class SearchError(WganlabError):
    """A ``search:`` section that cannot be read or carried out."""


@dataclass(frozen=True)
class Dimension:
    """One searched setting: the config keys a draw sets, and how a uniform number in [0, 1) becomes a value."""

    keys: tuple[str, ...]
    kind: str
    values: tuple[Any, ...]

    def value(self, u: float) -> Any:
        """The value at quantile ``u``: log-uniform and uniform between two bounds, or one of the choices."""
        if self.kind == "choice":
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = (float(v) for v in self.values)
        if self.kind == "uniform":
            return low + u * (high - low)
        return float(math.exp(math.log(low) + u * (math.log(high) - math.log(low))))

    @property
    def name(self) -> str:
        """What keys the shared stream: the settings it sets, in sorted order (``a+b`` and ``b+a`` draw alike)."""
        return "+".join(sorted(self.keys))


@dataclass(frozen=True)
class Search:
    trials: int
    best: int
    seeds: tuple[int, ...]
    metric: str
    stream: int
    spaces: dict[str, dict[str, Dimension]]  # variant name -> its space; others get default_space
    defaults_first: bool = True  # trial 0 is the variant's own settings, as Lucic et al. always included them

    def space_for(self, variant: str, config: Any) -> dict[str, Dimension]:
        return self.spaces.get(variant) or default_space(config)


def parse_search(tree: Any) -> Search:
    """The study file's ``search:`` section, checked."""
    if not isinstance(tree, dict):
        raise SearchError("'search' must be a mapping with 'trials', 'best' and 'seeds'")
    unknown = sorted(set(tree) - SEARCH_KEYS)
    if unknown:
        raise SearchError(f"search: unknown key '{unknown[0]}'; allowed keys are {', '.join(sorted(SEARCH_KEYS))}")
    trials, best = tree.get("trials", 16), tree.get("best", 1)
    if not _whole(trials) or trials < 1 or not _whole(best) or not 1 <= best <= trials:
        raise SearchError(f"search needs trials >= 1 and 1 <= best <= trials, got trials={trials}, best={best}")
    seeds = tree.get("seeds", [0, 1, 2, 3, 4])
    if not isinstance(seeds, list) or not seeds or not all(_whole(s) and s >= 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise SearchError("search.seeds must be a list of distinct seeds >= 0 for the re-runs, e.g. [0, 1, 2, 3, 4]")
    used = sorted(set(seeds) & set(range(TRIAL_SEED_BASE, TRIAL_SEED_BASE + trials)))
    if used:
        raise SearchError(f"search.seeds {used} are seeds the trials train on ({TRIAL_SEED_BASE} to "
                          f"{TRIAL_SEED_BASE + trials - 1}); the re-runs need fresh seeds")
    stream = tree.get("stream", 0)
    if not _whole(stream) or stream < 0:
        raise SearchError(f"search.stream must be a whole number >= 0, got {stream!r}")
    metric = str(tree.get("metric", "auto"))
    if metric != "auto" and metric not in METRIC_INFO:
        raise SearchError(f"search.metric '{metric}' is not a metric wganlab knows the direction of; use auto "
                          f"or one of {', '.join(sorted(METRIC_INFO))}")
    defaults = tree.get("defaults_first", True)
    if not isinstance(defaults, bool):
        raise SearchError(f"search.defaults_first must be true or false, got {defaults!r}")
    spaces = {}
    for variant, space in (tree.get("space") or {}).items():
        if not isinstance(space, dict) or not space:
            raise SearchError(f"search.space.{variant} must map config keys to a dimension")
        spaces[str(variant)] = {key: parse_dimension(key, spec) for key, spec in space.items()}
    return Search(trials, best, tuple(seeds), metric, stream, spaces, defaults)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_dimension(key: str, spec: Any) -> Dimension:
    """``{log_uniform: [1e-5, 1e-2]}``, ``{uniform: [0, 1]}`` or ``{choice: [1, 2, 5]}``."""
    if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in DIMENSION_KINDS:
        raise SearchError(f"search dimension '{key}' must be one of {{log_uniform: [low, high]}}, "
                          f"{{uniform: [low, high]}} or {{choice: [a, b, ...]}}, got {spec!r}")
    kind, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise SearchError(f"search dimension '{key}': {kind} needs a list")
    if kind != "choice":
        if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
                or values[0] >= values[1]:
            raise SearchError(f"search dimension '{key}': {kind} needs [low, high] with low < high, got {values}")
        if kind == "log_uniform" and values[0] <= 0:
            raise SearchError(f"search dimension '{key}': log_uniform needs a positive low bound, got {values[0]}")
    return Dimension(tuple(key.split("+")), kind, tuple(values))


def default_space(config: Any) -> dict[str, Dimension]:
    """The space every variant of an objective family gets unless the study names one: the learning rate (one
    value for both networks), discriminator steps (1, 2 or 5 for all) and Adam's betas for all; then the strength
    of each constraint the variant switches on (clipping bound, penalty weights), as that part declares it beside
    its settings (``Section.search_space``). Bounds span what the papers and presets use."""

    def dim(key: str, kind: str, *values: Any) -> tuple[str, Dimension]:
        return key, Dimension(tuple(key.split("+")), kind, tuple(values))

    # the same choices for every objective: discriminator updates are compute, and an equal budget gives every
    # variant the same options (Lucic et al. searched 1 or 5 for all)
    space = dict([dim("g_optimizer.lr+d_optimizer.lr", "log_uniform", 1e-5, 3e-3),
                  dim("critic_steps", "choice", 1, 2, 5)])
    if config.g_optimizer.name == "adam" and config.d_optimizer.name == "adam":
        space.update([dim("g_optimizer.betas+d_optimizer.betas", "choice", [0.0, 0.9], [0.5, 0.9], [0.5, 0.999])])
    for section in registered_sections():
        if section.search_space is not None:
            for key, spec in section.search_space(config.settings_of(section)).items():
                space[key] = parse_dimension(key, spec)
    return space


def uniform_for(stream: int, trial: int, name: str) -> float:
    """Trial ``trial``'s uniform number for dimension ``name``: a function of these three alone, so variants that
    search the same dimension draw the same value in the same trial."""
    return float(np.random.Generator(np.random.PCG64([stream, trial, zlib.crc32(name.encode())])).random())


def draw(space: dict[str, Dimension], stream: int, trial: int) -> dict[str, Any]:
    """Config key -> value for one trial."""
    values: dict[str, Any] = {}
    for dimension in space.values():
        value = dimension.value(uniform_for(stream, trial, dimension.name))
        values.update(dict.fromkeys(dimension.keys, value))
    return values


def expand_trials(base_runs: list[Any], search: Search) -> list[Any]:
    """Each base run (one per variant and dataset) as ``trials`` runs with drawn settings and the trial seeds
    (trial 0 the variant's own settings unless ``defaults_first`` is false); a drawn setting the config refuses
    is said in one line with the trial and the run."""
    from wganlab.errors import ConfigError

    variants = sorted({b.labels.get("variant") for b in base_runs if b.labels.get("variant") is not None})
    unknown = sorted(set(search.spaces) - set(variants))
    if unknown:
        raise SearchError(f"search.space names '{unknown[0]}', which is not a variant of the study "
                          f"({', '.join(variants) or 'it has no variant axis'})")
    if search.best > 1 and not variants:
        raise SearchError("search.best > 1 re-runs several settings per variant: the study needs a variant axis")
    trials = []
    for base in base_runs:
        if "seed" in base.labels or TRIAL_AXIS in base.labels:
            raise SearchError(f"a study with a search has no '{'seed' if 'seed' in base.labels else TRIAL_AXIS}' "
                              "axis: trials train on their own seeds and the best settings are re-run on "
                              "search.seeds")
        space = search.space_for(base.labels.get("variant", ""), base.config())
        axes = sorted({key for d in space.values() for key in d.keys} & set(base.labels))
        if axes:
            raise SearchError(f"search dimension '{axes[0]}' is also an axis of the study: a search would overwrite "
                              "it; drop one of them")
        for trial in range(search.trials):
            drawn = trial_settings(search, space, trial)
            overrides = last_wins([*base.overrides, *as_overrides(drawn), f"seed={TRIAL_SEED_BASE + trial}"])
            spec = replace(base, name=f"{base.name}__trial{trial:02d}",
                           labels={**base.labels, TRIAL_AXIS: f"{trial:02d}"}, overrides=tuple(overrides))
            try:
                spec.config()
            except ConfigError as err:
                raise SearchError(f"trial {trial} of '{base.name}' draws a bad config: {err}; narrow its "
                                  "search space") from None
            trials.append(spec)
    return trials


def trial_settings(search: Search, space: dict[str, Dimension], trial: int) -> dict[str, Any]:
    """What trial ``trial`` sets: nothing for trial 0 when the variant's own settings go first, else a draw."""
    if search.defaults_first and trial == 0:
        return {}
    return draw(space, search.stream, trial)


def ranking_metric(search: Search, runs: list[Any]) -> str:
    """``search.metric``, with ``auto`` read from the runs: FID where they report one, else W1."""
    if search.metric != "auto":
        return search.metric
    for name in ("fid", "w1"):
        if any(((r.result or {}).get("final") or {}).get(name) is not None for r in runs):
            return name
    raise SearchError("no finished trial reports FID or W1 to rank by; name search.metric")


def choose(search: Search, base_runs: list[Any], trial_records: list[Any]) -> dict[str, Any]:
    """Rank each variant's finished trials (``trial_records``: the trials study's runs with their results) by the
    final metric and keep the best ``best``: the record written to ``OUT/search.json``, with every trial's value
    and drawn settings and the chosen ones."""
    record: dict[str, Any] = {"trials": search.trials, "best": search.best, "seeds": list(search.seeds),
                              "stream": search.stream, "experiments": {}}
    for base in base_runs:
        runs = [r for r in trial_records if r.name.startswith(f"{base.name}__trial")]
        metric = ranking_metric(search, runs)
        lower = metric_info(metric).lower_is_better
        space = search.space_for(base.labels.get("variant", ""), base.config())
        scored = []
        for run in runs:
            value = ((run.result or {}).get("final") or {}).get(metric)
            trial = int(run.labels[TRIAL_AXIS])
            scored.append((float(value) if isinstance(value, (int, float)) else None, trial,
                           trial_settings(search, space, trial)))
        finite = sorted(((v, t, d) for v, t, d in scored if v is not None and math.isfinite(v)),
                        key=lambda item: (item[0] if lower else -item[0], item[1]))
        if len(finite) < search.best:
            raise SearchError(f"'{base.name}': {len(finite)} of {search.trials} trials report {metric}, fewer than "
                              f"the {search.best} to re-run; see the trials' errors under OUT/{TRIALS_DIR}")
        record["experiments"][base.name] = {
            "labels": base.labels, "metric": metric, "lower_is_better": lower,
            "space": {d.name: {d.kind: list(d.values)} for d in space.values()},
            "values": [{"trial": t, "value": v, "settings": d} for v, t, d in sorted(scored, key=lambda i: i[1])],
            "chosen": [{"trial": t, "value": v, "settings": d} for v, t, d in finite[:search.best]],
        }
    return record


def best_runs(search: Search, base_runs: list[Any], record: dict[str, Any]) -> list[Any]:
    """The chosen settings of each variant on every re-run seed: the runs a report compares."""
    runs = []
    for base in base_runs:
        chosen = record["experiments"][base.name]["chosen"]
        for rank, pick in enumerate(chosen, start=1):
            labels = dict(base.labels)
            if len(chosen) > 1 and "variant" in labels:
                labels["variant"] = f"{labels['variant']} #{rank}"
            suffix = f"__best{rank}" if len(chosen) > 1 else ""
            for seed in search.seeds:
                overrides = last_wins([*base.overrides, *as_overrides(pick["settings"]), f"seed={seed}"])
                runs.append(replace(base, name=f"{base.name}{suffix}__seed{seed}", labels={**labels, "seed": str(seed)},
                                    overrides=tuple(overrides)))
    return runs


def trials_study(study: Any) -> Any:
    """The trials as a study of their own (axes: the study's, plus ``trial``), run in ``OUT/trials``."""
    return replace(study, name=f"{study.name} (search trials)", axes=[*study.axes, TRIAL_AXIS], runs=study.runs,
                   search=None, base_runs=[])


def confirmation_study(study: Any, record: dict[str, Any]) -> Any:
    """The chosen settings on fresh seeds: the study whose verdicts the report gives."""
    return replace(study, axes=[*study.axes, "seed"], runs=best_runs(study.search, study.base_runs, record),
                   search=None, base_runs=[])


def best_after_k(values: list[float | None], lower_is_better: bool, resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """What a new search of k trials would find, k = 1..n, if its trials were drawn like these: the median and the
    2.5 and 97.5 percentiles of the best of k trials drawn with replacement from the n (a bootstrap of the search).
    A failed trial (None or not finite) spent its budget and found nothing: it counts as the worst outcome, so
    a search that is all failures has no best (NaN)."""
    worst = math.inf if lower_is_better else -math.inf
    x = np.asarray([v if v is not None and math.isfinite(v) else worst for v in values], dtype=np.float64)
    draws = np.random.default_rng(seed).choice(x, size=(resamples, len(x)), replace=True)
    running = np.minimum.accumulate(draws, axis=1) if lower_is_better else np.maximum.accumulate(draws, axis=1)

    def percentile(q: float) -> np.ndarray:
        found = np.percentile(running, q, axis=0, method="inverted_cdf")  # no interpolation towards infinity
        return np.where(np.isfinite(found), found, np.nan)

    return {"k": np.arange(1, len(x) + 1), "median": percentile(50), "low": percentile(2.5),
            "high": percentile(97.5), "failed": int(np.sum(~np.isfinite(x)))}
