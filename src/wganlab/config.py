"""A whole training run as dataclasses: loaded from presets or YAML, overridden by ``key=value``, validated.

A GAN variant is not a class in wganlab but a composition named in a config: networks + objective +
Lipschitz constraint + optimizers + critic schedule. Presets (``presets/*.yaml``) are partial configs that may
``extends:`` another preset. Validation is strict (as StudioGAN's configs are) because a typo such as
``lipschitz.gradient_penlty.weight=10`` would otherwise silently train a different model than the one reported.

The ``lipschitz`` and ``tricks`` sections, and the parts' keys of the run itself (``ema``), are composed here from
the settings each registered part declares beside its code (:mod:`wganlab.sections`); the core sections (data,
model, optimizers, eval) are imported from their packages' ``settings.py``. Each part's rules run on its own
settings when a config is built.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from wganlab.data.settings import IMAGE_DATASETS, TABLE_DATASETS, TOY_DATASETS, VECTOR_DATASETS, DataConfig, check_data
from wganlab.errors import ConfigError
from wganlab.metrics.settings import BEST_METRICS, EvalConfig, check_eval
from wganlab.nets.settings import ConditioningConfig, ModelConfig, check_model
from wganlab.preset_files import available_presets, deep_merge, resolve_source
from wganlab.registry import HOOKS, NETWORK_PARTS, OBJECTIVES
from wganlab.sections import Facts, Section, build_section, option
from wganlab.training.settings import DivergenceConfig, OptimizerConfig, check_optimizer

TOY_SECTION = "toy"  # a preset's settings for 2D toy data, applied under the user's own overrides
# How a run executes, not what it computes: a run may resume with other values of these (on another machine, on a
# GPU, with other intervals). Everything else (networks, objective, constraints, optimizers, data, batch, seed)
# defines the algorithm and is fixed when the run starts.
EXECUTION_KEYS = ("steps", "threads", "device", "precision", "compile", "channels_last", "log_every",
                  "sample_every", "checkpoint_every", "keep_checkpoints", "eval_every", "lr_decay_from")
__all__ = ["BEST_METRICS", "EXECUTION_KEYS", "IMAGE_DATASETS", "TABLE_DATASETS", "TOY_DATASETS", "VECTOR_DATASETS",
           "DataConfig", "ModelConfig", "OptimizerConfig", "RunConfig", "available_presets", "from_tree",
           "load_config", "parse_override", "reference_data", "save_config", "with_execution_settings"]


# A config.yaml written before a network was renamed loads with its new name.
ARCH_RENAMES = {"seed000": "dtu-dcgan"}


# ------------------------------------------------------------------------ the sections, composed of the parts'


@functools.cache  # parts with settings cannot register once the sections are composed (wganlab.registry)
def registered_sections() -> tuple[Section, ...]:
    """The settings of every registered part, once each, in registration order (R1 and R2 share theirs)."""
    sections: list[Section] = []
    for registry in (HOOKS, NETWORK_PARTS):
        for name in registry.names():
            section = registry.settings(name)
            if section is not None and section not in sections:
                sections.append(section)
    return tuple(sections)


def _compose(name: str, path: str, doc: str, bases: tuple[type, ...] = ()) -> type:
    """A dataclass holding the fields of every registered part whose settings join the section at ``path``."""
    fields: list[tuple[str, Any, Any]] = []
    taken = {spec.name for base in bases for spec in dataclasses.fields(base)}
    for section in registered_sections():
        if section.path != path:
            continue
        hints = get_type_hints(section.settings)
        for spec in section.fields():
            if spec.name in taken:
                raise ValueError(f"two parts declare the setting '{'.'.join(filter(None, (path, spec.name)))}'")
            taken.add(spec.name)
            fields.append((spec.name, hints[spec.name], field(
                default=spec.default, default_factory=spec.default_factory, init=spec.init, repr=spec.repr,
                hash=spec.hash, compare=spec.compare, metadata=spec.metadata, kw_only=spec.kw_only)))
    cls = dataclasses.make_dataclass(name, fields, bases=bases, namespace={"__doc__": doc})
    cls.__module__ = __name__  # pickled by name, as a class written here would be
    return cls


LipschitzConfig = _compose("LipschitzConfig", "lipschitz", "How the critic is kept (approximately) 1-Lipschitz, "
                           "or its gradients penalised; any combination may be switched on (wganlab.lipschitz).")
TricksConfig = _compose("TricksConfig", "tricks", "The classic GAN training techniques; each composes with the "
                        "others and with any objective that allows it (wganlab.tricks).")


@dataclass
class RunSettings:
    """The run's own keys and its core sections; the parts' root-level keys (``ema``) join them in RunConfig."""

    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    steps: int = option(10_000, low=1, why="generator updates")
    batch_size: int | None = option(None, low=1, why="null picks 256 for 2D toys and 64 for images; under "
                                    "torchrun the global batch, split evenly over the processes")
    seed: int = option(0, low=0, high=2**63 - 1)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: str = option("non-saturating", choices=OBJECTIVES.names)  # read when validating: registrable
    lipschitz: LipschitzConfig = field(default_factory=LipschitzConfig)  # type: ignore[valid-type]
    critic_steps: int = option(1, low=1, why="n_critic: discriminator updates per generator update")
    critic_burst: bool = False
    critic_burst_steps: int = option(100, low=1, why="critic updates per generator step in a burst (Arjovsky: 100)")
    tricks: TricksConfig = field(default_factory=TricksConfig)  # type: ignore[valid-type]
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    g_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    d_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    lr_schedule: str = option("constant", choices=("constant", "linear"),
                              why="linear decays both learning rates to 0 at the last step (Gulrajani et al.)")
    lr_decay_from: tuple[float, float] | None = option(
        None, why="(step, share of the base rate): a linear decay that starts there instead of at step 0, set "
        "when a resume moves the last step (lr_extend=stretch|restart)")
    log_every: int = option(50, low=1)
    sample_every: int = option(500, low=1)
    checkpoint_every: int = option(1000, low=1)
    keep_checkpoints: int = option(3, low=1)
    eval_every: int = option(1000, low=0, why="steps between FID (or toy modes/W1) evaluations, made at the first "
                             "logged step past each multiple; 0 turns them off")
    eval_samples: int = option(2000, low=2, why="generated samples per evaluation during training")
    eval: EvalConfig = field(default_factory=EvalConfig)
    best_metric: str | None = option(None, choices=BEST_METRICS,
                                     why="also keep checkpoints/best.pt at the lowest value of this logged metric")
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)
    device: str = option("auto", choices=("auto", "cpu", "cuda"))
    threads: int = option(0, low=0, why="torch CPU threads; 0 lets torch decide (cores / processes under torchrun)")
    precision: str = option("fp32", choices=("fp32", "bf16"),
                            why="bf16 runs the networks under bfloat16 autocast (for GPUs and CPUs with "
                            "avx512_bf16: 20-40x slower on CPUs without bf16 units); losses, the penalty's gradient "
                            "norm and spectral norm stay float32")
    channels_last: bool = option(True, why="convolutions on NHWC tensors: 12-17% faster DCGAN steps on a 2-core CPU, "
                                 "and what GPU tensor cores want; no effect on MLPs")
    compile: str = option("off", choices=("off", "default", "reduce-overhead", "max-autotune"),
                          why="torch.compile mode for the generator and the critic; the gradient penalty's pass "
                          "stays eager, as compiled graphs have no double backward")
    sync_batch_norm: bool = option(False, why="under torchrun on GPUs, batch norm over the global batch "
                                   "(torch.nn.SyncBatchNorm) instead of each process's shard")

    @property
    def is_toy(self) -> bool:
        return self.data.kind == "points"

    @property
    def is_vectors(self) -> bool:
        """2D toys and feature tables: one vector per sample, MLP networks, W1 evaluation."""
        return self.data.kind != "images"

    @property
    def headed_discriminator(self) -> bool:
        """Whether the discriminator is rebuilt with a dense head (:mod:`wganlab.nets.heads`) for the tricks that
        plug in after its convolutions."""
        return bool(self.conditioning.mode != "none" or self.model.d_dense
                    or any(s.needs_head(self.settings_of(s)) for s in registered_sections() if s.needs_head))

    @property
    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 256 if self.is_vectors else 64

    @property
    def facts(self) -> Facts:
        """What every part may know of this run besides its own settings."""
        return Facts(self.data.name, self.data.kind, self.objective, self.model.arch, self.resolved_batch_size,
                     self.eval_every, self.network_part("lazy-regularization").every)

    def network_part(self, name: str) -> Any:
        """The settings of the registered network part ``name`` (spectral norm, minibatch discrimination, ...)."""
        return self.settings_of(NETWORK_PARTS.settings(name))

    def settings_of(self, section: Section) -> Any:
        """One part's settings, read from the section of this config that holds them."""
        return section.read(getattr(self, section.path) if section.path else self)

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


RunConfig = _compose("RunConfig", "", "Everything that defines one training run; written resolved into the run "
                     "directory.", bases=(RunSettings,))


def check_config(config: RunSettings) -> None:
    """Each part's rules, given its own settings and the run's shared facts."""
    facts = config.facts
    check_data(config.data)
    check_model(config.model, config.conditioning, facts)
    for role in ("g_optimizer", "d_optimizer"):
        check_optimizer(getattr(config, role), role)
    check_eval(config.eval, config.best_metric, config.eval_samples, facts)
    for section in registered_sections():
        section.check(config.settings_of(section), facts)


# --------------------------------------------------------------------------------------------- loading


def load_config(source: str | Path | dict | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Build a validated :class:`RunConfig` from a preset name, a YAML path or a dict, then ``key=value`` overrides.

    Raises :class:`ConfigError` with a one-line message for every kind of bad input.
    """
    if isinstance(source, dict):
        base = dict(source)
    elif source is not None:
        base = resolve_source(str(source))
    else:
        base = {}
    toy_overlay = base.pop(TOY_SECTION, None) or {}
    if not isinstance(toy_overlay, dict):
        raise ConfigError(f"'{TOY_SECTION}' must be a mapping of keys applied for 2D toy data")
    user: dict[str, Any] = {}
    for item in overrides:
        key, value = parse_override(item)
        _set_dotted(user, key, value)
    for tree in (base, toy_overlay):  # a user's data.root=X then merges into the preset's data=NAME
        if isinstance(tree.get("data"), str):
            tree["data"] = _data_shorthand(tree["data"])
    merged = deep_merge(base, user)
    if _data_name(merged.get("data")) in VECTOR_DATASETS:  # the presets' MLP settings suit any vector data
        merged = deep_merge(deep_merge(base, toy_overlay), user)
    return from_tree(merged)


def _data_name(data: Any) -> str:
    if isinstance(data, str):
        return _data_shorthand(data)["name"]
    if isinstance(data, dict):
        return str(data.get("name", DataConfig.name))
    return DataConfig.name


def from_tree(tree: dict[str, Any]) -> RunConfig:
    """Validate a plain nested dict (as written to ``config.yaml``) into a :class:`RunConfig`."""
    model = tree.get("model")
    if isinstance(model, dict) and isinstance(model.get("arch"), str) and model["arch"] in ARCH_RENAMES:
        # a config.yaml written before the rename
        tree = {**tree, "model": {**model, "arch": ARCH_RENAMES[model["arch"]]}}
    if isinstance(tree.get("data"), str):
        tree = {**tree, "data": _data_shorthand(tree["data"])}
    config = build_section(RunConfig, tree)
    check_config(config)
    return config


def with_execution_settings(config: RunConfig, settings: dict[str, Any]) -> tuple[RunConfig, dict[str, list[Any]]]:
    """``config`` with the execution ``settings`` applied (validated as at the start), and ``{key: [old, new]}``
    for those that changed; a key that defines the algorithm raises :class:`ConfigError`."""
    tree = config.to_dict()
    for key, value in settings.items():
        if key not in EXECUTION_KEYS:
            raise ConfigError(f"'{key}' defines the algorithm, so it cannot change when a run resumes; start a new "
                              f"run to change it (a resume may change {', '.join(EXECUTION_KEYS)})")
        tree[key] = value
    updated = from_tree(tree)
    changed = {key: [getattr(config, key), getattr(updated, key)] for key in EXECUTION_KEYS
               if getattr(config, key) != getattr(updated, key)}
    return updated, changed


def reference_data(options: Sequence[str], data: str | None = None, own: DataConfig | None = None) -> DataConfig:
    """The data an evaluation compares with: ``data`` (as in ``data=...``) or a run's ``own``, adjusted by
    ``data.KEY=VALUE`` ``options`` and validated as ``train`` validates them."""
    for item in options:
        if not item.startswith("data.") or "=" not in item:
            raise ConfigError(f"'{item}' is not a data option; evaluation takes data.KEY=VALUE "
                              "(e.g. data.image_size=28)")
    if data is not None:
        return load_config(None, [f"data={data}", *options]).data
    if own is None:
        raise ConfigError("give the data to compare with (data=NAME)")
    return load_config({"data": dataclasses.asdict(own)}, list(options)).data


def parse_override(item: str) -> tuple[str, Any]:
    """``section.key=value`` -> (``section.key``, YAML-parsed value)."""
    if "=" not in item:
        raise ConfigError(f"override '{item}' is not of the form key=value (e.g. steps=2000 or lipschitz.clip=0.01)")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key:
        raise ConfigError(f"override '{item}' has an empty key; write key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except (yaml.YAMLError, RecursionError):
        value = raw
    return key, value


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if isinstance(child, str) and part == "data":
            child = _data_shorthand(child)
        if not isinstance(child, dict):
            child = {}
        node[part] = child
        node = child
    existing = node.get(parts[-1])
    if parts == ["data"] and isinstance(value, str) and isinstance(existing, dict):
        value = {**existing, **_data_shorthand(value)}  # data.root=X data=NAME means NAME at X, in either order
    node[parts[-1]] = value


def _data_shorthand(text: str) -> dict[str, Any]:
    name, sep, root = text.partition(":")
    return {"name": name, "root": root} if sep else {"name": name}


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def save_config(config: RunConfig, path: Path) -> None:
    """Write the resolved config so a run directory alone says exactly what was trained."""
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
