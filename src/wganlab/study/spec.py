"""Study files: a base config and axes whose cross product is the set of runs.

A study is what every source paper actually ran: several variants on several datasets over several seeds, the
same networks and budget for all. The file says it once::

    name: dtu-comparison
    base: dtu-gan                    # preset or YAML file every run starts from (a variant may name its own)
    set: {sample_every: 500}         # settings for every run
    axes:                            # cross product, in this order; any config key can be an axis
      variant: [dtu-gan, dtu-wgan-wc, {name: gp1, preset: dtu-wgan-gp, set: {lipschitz.gradient_penalty.weight: 1}}]
      data: [8gaussians, mnist]
      seed: [0, 1, 2]                # a value may be a mapping, shown by its 'label': {label: anime, name: folder, ...}
    when:                            # settings for the runs whose axis values match
      - match: {data: 8gaussians}
        set: {steps: 2000}
      - match: {data: mnist, seed: 2}  # or no such run at all
        skip: true
    evaluation: {samples: 10000}     # samples for each run's final (and best-checkpoint) metrics
    scales:                          # named variations: replace axes' values, add settings and rules
      quick: {axes: {seed: [0, 1]}, set: {steps: 200}}
    search: {trials: 16, best: 1, seeds: [0, 1, 2, 3, 4]}   # tune every variant alike (wganlab.study.search)

A run's config is ``load_config(preset, overrides)`` with the overrides in this order: the study's ``set``, the
matching ``when`` rules, the variant's ``set``, then the run's axis values; so every run is also one
``wganlab train PRESET key=value ...`` command, which the report prints. A scale's ``set`` joins the study's and
its ``when`` rules follow the study's, so a study's rule for a dataset (``steps: 2000`` above) outranks the scale's
``set``: a scale that shortens those runs too needs a rule of its own.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wganlab.config import RunConfig, load_config
from wganlab.errors import ConfigError, WganlabError
from wganlab.study.overrides import as_overrides as _as_overrides
from wganlab.study.overrides import last_wins as _last_wins
from wganlab.study.search import expand_trials, parse_search

SHIPPED_DIR = Path(__file__).parent / "shipped"
VARIANT_AXIS = "variant"
SEED_AXIS = "seed"
TOP_KEYS = {"name", "description", "base", "set", "axes", "when", "evaluation", "scales", "stack_seeds", "search"}
SCALE_KEYS = {"axes", "set", "when", "evaluation", "description", "stack_seeds", "search"}
WHEN_KEYS = {"match", "set", "skip"}  # skip: true drops the matching runs (e.g. fewer seeds of an expensive dataset)


def experiment_axes(axes: list[str]) -> list[str]:
    """The axes that tell experiments apart: all but the seed."""
    return [a for a in axes if a != SEED_AXIS]


def experiment_of(labels: dict[str, str]) -> tuple[str, ...]:
    """A run's axis values other than the seed: runs that differ only by seed are repeats of one experiment."""
    return tuple(v for k, v in labels.items() if k != SEED_AXIS)


class StudyError(WganlabError):
    """A study file that cannot be read or expanded."""


@dataclass(frozen=True)
class RunSpec:
    """One run of a study: where it goes, what it is, and how to build its config."""

    name: str
    labels: dict[str, str]  # axis -> value as shown in tables (variant name, dataset, seed, ...)
    preset: str | None
    overrides: tuple[str, ...]

    def config(self) -> RunConfig:
        return load_config(self.preset, list(self.overrides))

    @property
    def group(self) -> tuple[str, ...]:
        return experiment_of(self.labels)

    def command(self) -> str:
        """The equivalent ``wganlab train`` command line."""
        quoted = [f"'{o}'" if re.search(r"[\s\[\]{}\"']", o) else o for o in self.overrides]
        return " ".join(["wganlab train", self.preset or "", *quoted]).replace("  ", " ")


@dataclass
class Study:
    name: str
    description: str
    scale: str
    axes: list[str]
    runs: list[RunSpec]
    evaluation_samples: int
    source: dict[str, Any] = field(default_factory=dict)
    stack_seeds: bool = False  # runs that differ only in their seed train as one stacked model (wganlab.stacking)
    search: Any = None  # a Search (wganlab.study.search): ``runs`` are then its trials
    base_runs: list[RunSpec] = field(default_factory=list)  # one per variant and dataset, before the search

    @property
    def group_axes(self) -> list[str]:
        return experiment_axes(self.axes)


def shipped_studies() -> dict[str, str]:
    """Name -> description of the studies that come with wganlab."""
    return {p.stem: str(_read(p).get("description", "")) for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


STUDY_RENAMES = {"seed000": "dtu-comparison"}  # old names that still work, printing the new one


def resolve_study_path(source: str | Path) -> Path:
    path = Path(source)
    if path.is_file():
        return path
    if str(source) in STUDY_RENAMES:
        print(f"wganlab: note: study '{source}' is now called '{STUDY_RENAMES[str(source)]}'", file=sys.stderr)
        source = STUDY_RENAMES[str(source)]
    shipped = SHIPPED_DIR / f"{source}.yaml"
    if shipped.is_file():
        return shipped
    known = ", ".join(shipped_studies())
    raise StudyError(f"study '{source}' is neither a file nor a shipped study ({known}); give a YAML path")


def load_study(source: str | Path, scale: str | None = None) -> Study:
    """Read a study file (or a shipped study by name), apply ``scale`` and expand it into validated runs."""
    path = resolve_study_path(source)
    tree = _read(path)
    _check_keys(tree, TOP_KEYS, f"study '{path.name}'")
    scales = tree.get("scales") or {}
    if not isinstance(scales, dict):
        raise StudyError(f"'scales' in '{path.name}' must map scale names to settings")
    if scale is not None and scale != "full" and scale not in scales:
        raise StudyError(f"study '{path.name}' has no scale '{scale}'; it has: {', '.join(['full', *scales])}")
    chosen = (scales.get(scale) or {}) if scale else {}
    _check_keys(chosen, SCALE_KEYS, f"scale '{scale}'")
    axes = _mapping(tree.get("axes"), "axes")
    for key, values in _mapping(chosen.get("axes"), f"scale '{scale}' axes").items():
        if key not in axes:
            raise StudyError(f"scale '{scale}' changes axis '{key}', which the study does not have; "
                             f"its axes are {', '.join(axes)}")
        axes[key] = values
    if not axes:
        raise StudyError(f"study '{path.name}' has no axes; add e.g. 'axes: {{seed: [0, 1, 2]}}'")
    # Every run keeps its best checkpoint (by FID or W1) unless the study says otherwise: the report shows both.
    settings = {"best_metric": "auto", **_mapping(tree.get("set"), "set"),
                **_mapping(chosen.get("set"), f"scale '{scale}' set")}
    rules = [*_list(tree.get("when"), "when"), *_list(chosen.get("when"), f"scale '{scale}' when")]
    evaluation = {**_mapping(tree.get("evaluation"), "evaluation"),
                  **_mapping(chosen.get("evaluation"), f"scale '{scale}' evaluation")}
    base = tree.get("base")
    if isinstance(base, str) and base.endswith((".yaml", ".yml")) and not Path(base).is_absolute():
        base = str(path.parent / base)
    runs = _expand(axes, base, settings, rules)
    samples = int(evaluation.get("samples", 10_000))
    if samples < 2:
        raise StudyError(f"evaluation.samples must be at least 2, got {samples}")
    name = str(tree.get("name") or path.stem)
    description = str(chosen.get("description") or tree.get("description") or "")
    stack_seeds = chosen.get("stack_seeds", tree.get("stack_seeds", False))
    if not isinstance(stack_seeds, bool):
        raise StudyError(f"stack_seeds must be true or false, got {stack_seeds!r}")
    if "search" not in tree and "search" not in chosen:
        return Study(name, description, scale or "full", list(axes), runs, samples, tree, stack_seeds)
    search = parse_search({**_mapping(tree.get("search"), "search"),
                           **_mapping(chosen.get("search"), f"scale '{scale}' search")})
    trials = expand_trials(runs, search)
    return Study(name, description, scale or "full", list(axes), trials, samples, tree, stack_seeds, search, runs)


def _expand(axes: dict[str, Any], base: str | None, settings: dict[str, Any],
            rules: list[Any]) -> list[RunSpec]:
    value_lists = []
    for axis, values in axes.items():
        if not isinstance(values, list) or not values:
            raise StudyError(f"axis '{axis}' must be a non-empty list of values")
        value_lists.append([(axis, v) for v in values])
    runs, names = [], set()
    for combination in itertools.product(*value_lists):
        labels = {axis: _label(axis, value) for axis, value in combination}
        preset, overrides = base, [*_as_overrides(settings)]
        variant = dict(combination).get(VARIANT_AXIS)
        matching = [rule for rule in rules if _matches(rule, labels)]
        if any(rule.get("skip") is True for rule in matching):
            continue
        for rule in matching:
            overrides += _as_overrides(_mapping(rule.get("set"), "when ... set"))
        if variant is not None:
            if isinstance(variant, dict):
                preset = variant.get("preset", preset)
                overrides += _as_overrides(_mapping(variant.get("set"), f"variant '{labels[VARIANT_AXIS]}' set"))
            else:
                preset = str(variant)
        overrides += _as_overrides({a: _without_label(v) for a, v in combination if a != VARIANT_AXIS})
        overrides = _last_wins(overrides)
        name = "__".join(_dir_part(axis, label) for axis, label in labels.items())
        if name in names:
            raise StudyError(f"two runs would share the directory '{name}'; give the variants distinct names")
        names.add(name)
        spec = RunSpec(name, labels, preset, tuple(overrides))
        try:
            spec.config()
        except ConfigError as err:
            raise StudyError(f"run '{name}' has a bad config: {err}") from None
        runs.append(spec)
    return runs


def _label(axis: str, value: Any) -> str:
    if axis == VARIANT_AXIS and isinstance(value, dict):
        if "name" not in value:
            raise StudyError(f"a variant given as a mapping needs a 'name' (it has {', '.join(value)})")
        _check_keys(value, {"name", "preset", "set"}, f"variant '{value['name']}'")
        return str(value["name"])
    if isinstance(value, dict):
        return str(value.get("label", value.get("name", json.dumps(value, sort_keys=True))))
    return str(value)


def _without_label(value: Any) -> Any:
    """An axis value may carry a display ``label`` (data: {label: anime, name: folder, root: ...})."""
    return {k: v for k, v in value.items() if k != "label"} if isinstance(value, dict) else value


def _dir_part(axis: str, label: str) -> str:
    prefix = "" if axis in (VARIANT_AXIS, "data") else axis.rsplit(".", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._+-]", "-", f"{prefix}{label}")


def _matches(rule: Any, labels: dict[str, str]) -> bool:
    if not isinstance(rule, dict) or "match" not in rule:
        raise StudyError("every 'when' rule needs 'match: {axis: value}' and 'set: {key: value}' or 'skip: true'")
    _check_keys(rule, WHEN_KEYS, "a 'when' rule")
    if not isinstance(rule.get("skip", False), bool):
        raise StudyError(f"'skip' in a 'when' rule must be true or false, got {rule['skip']!r}")
    match = _mapping(rule["match"], "when ... match")
    for axis, wanted in match.items():
        if axis not in labels:
            raise StudyError(f"a 'when' rule matches on '{axis}', which is not an axis ({', '.join(labels)})")
        options = wanted if isinstance(wanted, list) else [wanted]
        if labels[axis] not in {str(o) for o in options}:
            return False
    return True


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StudyError(f"'{where}' must be a mapping of key: value, got {type(value).__name__}")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise StudyError(f"'{where}' must be a list of rules")
    return value


def _check_keys(tree: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(tree) - allowed)
    if unknown:
        raise StudyError(f"{where}: unknown key '{unknown[0]}'; allowed keys are {', '.join(sorted(allowed))}")


def _read(path: Path) -> dict[str, Any]:
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise StudyError(f"study file '{path}' is not valid YAML ({str(err).splitlines()[0]}); fix it") from None
    except (OSError, UnicodeDecodeError) as err:
        raise StudyError(f"cannot read study file '{path}': {err}") from None
    if not isinstance(tree, dict):
        raise StudyError(f"study file '{path}' must be a mapping with 'axes:' (and 'base:', 'set:', ...)")
    return tree
