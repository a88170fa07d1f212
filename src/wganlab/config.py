"""A whole training run as dataclasses: loaded from presets or YAML, overridden by ``key=value``, validated.

A GAN variant is not a class in wganlab but a composition named in a config: networks + objective +
Lipschitz constraint + optimizers + critic schedule. Presets (``presets/*.yaml``) are partial configs that may
``extends:`` another preset. Validation is strict (as StudioGAN's configs are) because a typo such as
``lipschitz.gradient_penlty.weight=10`` would otherwise silently train a different model than the one reported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import sys
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml

from wganlab.errors import ConfigError
from wganlab.registry import ARCHITECTURES as REGISTERED_ARCHITECTURES
from wganlab.registry import OBJECTIVES

PRESET_DIR = Path(__file__).parent / "presets"
TOY_DATASETS = ("8gaussians", "25gaussians", "swissroll", "scurve", "scurve-xt", "moons")
IMAGE_DATASETS = ("mnist", "fashion-mnist", "idx", "cifar10", "cifar100", "celeba", "lsun", "folder", "stacked-mnist")
TABLE_DATASETS = ("table",)  # feature vectors: data=table:FILE.csv|FILE.npz|sklearn:NAME (wganlab.data.table)
VECTOR_DATASETS = TOY_DATASETS + TABLE_DATASETS  # trained with MLPs, evaluated by the exact W1
# all lower-is-better; fid and w1 need eval_every; auto: fid for images, w1 for 2D toys, whichever is evaluated
BEST_METRICS = ("fid", "w1", "wasserstein_estimate", "auto")
TOY_SECTION = "toy"  # a preset's settings for 2D toy data, applied under the user's own overrides
# How a run executes, not what it computes: a run may resume with other values of these (on another machine, on a
# GPU, with other intervals). Everything else (networks, objective, constraints, optimizers, data, batch, seed)
# defines the algorithm and is fixed when the run starts.
EXECUTION_KEYS = ("steps", "threads", "device", "precision", "compile", "channels_last", "log_every",
                  "sample_every", "checkpoint_every", "keep_checkpoints", "eval_every", "lr_decay_from")


# Old names that still work: each prints its new name (a saved config.yaml's arch is mapped silently).
PRESET_RENAMES = {"seed000-gan": "dtu-gan", "seed000-wc": "dtu-wgan-wc", "seed000-gp": "dtu-wgan-gp",
                  "seed000-sn": "dtu-wgan-sn"}
ARCH_RENAMES = {"seed000": "dtu-dcgan"}


def _opt(default: Any = None, *, choices: tuple | None = None, low: float | None = None,
         high: float | None = None, low_open: bool = False, why: str = "") -> Any:
    """A dataclass field carrying its allowed values, read by :func:`_check_field`."""
    meta = {"choices": choices, "low": low, "high": high, "low_open": low_open, "why": why}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DataConfig:
    """Where training samples come from. ``data: idx:PATH`` is shorthand for ``{name: idx, root: PATH}``."""

    name: str = _opt("mnist", choices=TOY_DATASETS + TABLE_DATASETS + IMAGE_DATASETS)
    root: str | None = None
    split: str = _opt("train", choices=("train", "test"))
    pixel_range: str = _opt("symmetric", choices=("symmetric", "unit"),
                            why="symmetric scales pixels to [-1, 1] (tanh output), unit to [0, 1] (sigmoid)")
    image_size: int | None = _opt(None, choices=(28, 32, 64, 128),
                                  why="resize decoded images to this square size; null keeps the dataset's own")
    crop: str = _opt("auto", why="before resizing: auto (the dataset's convention), square (largest centred "
                     "square), none (squash the whole image), or a centred square of N pixels")
    grayscale: bool = False
    hflip: bool = False
    limit: int = _opt(0, low=0, why="train on this many images or table rows only (the same ones for every seed: "
                      "a fixed permutation); 0 uses them all")
    per_class: int = _opt(0, low=0, why="train on this many images (or table rows) of each class, chosen by a "
                          "fixed permutation; the rest are held out (wganlab augment tests on them); 0: off")
    subset_seed: int = _opt(0, low=0, why="which fixed permutation chooses the data.limit / data.per_class rows "
                            "(and so the held-out ones): another value draws another subset, e.g. to repeat a "
                            "study over several draws of a small labelled set")
    label: str | None = _opt(None, why="the CSV column that holds each row's class (data=table:FILE.csv); null: "
                             "the rows have no classes")


@dataclass
class ModelConfig:
    """Generator and discriminator networks. ``arch`` picks a family or one of the studies' exact networks."""

    arch: str = _opt("auto", choices=REGISTERED_ARCHITECTURES.names,
                     why="auto is an MLP for 2D toys and the DCGAN family for images")
    latent_dim: int = _opt(100, low=1)
    width: int = _opt(64, low=1, why="hidden units of an MLP, channels of the widest DCGAN layer / 4, or channels "
                      "of every ResNet block")
    mlp_depth: int = _opt(3, low=1, high=16)
    kernel_size: int = _opt(4, choices=(3, 4, 5, 7))
    upsample: str = _opt("transposed", choices=("transposed", "nearest"))
    downsample: str = _opt("strided", choices=("strided", "maxpool"))
    g_norm: str = _opt("batch", choices=("batch", "virtual", "reference", "none"),
                       why="virtual / reference: Salimans et al.'s batch norm against a fixed reference batch")
    d_norm: str = _opt("batch", choices=("batch", "layer", "instance", "virtual", "reference", "none"))
    reference_batch: int = _opt(64, low=2, why="size of the fixed reference batch of virtual/reference batch norm")
    d_dense: int = _opt(0, low=0, why="units of a dense layer after the discriminator's convolutions (the guide's "
                        "conditional D uses 256); 0: none")
    g_activation: str = _opt("relu", choices=("relu", "leaky_relu", "elu", "tanh"))
    d_activation: str = _opt("leaky_relu", choices=("relu", "leaky_relu", "elu", "tanh"))
    leaky_slope: float = _opt(0.2, low=0.0, high=1.0)
    init: str = _opt("dcgan", choices=("dcgan", "resnet", "pytorch"),
                     why="dcgan draws weights from N(0, 0.02) as Radford et al. do; resnet is Gulrajani et al.'s "
                     "and SNGAN's Xavier-uniform (gain √2 on residual convs)")


@dataclass
class OptimizerConfig:
    """One network's optimizer. ``betas`` is Adam's (β1, β2); RMSProp uses ``alpha`` and ``momentum``."""

    name: str = _opt("adam", choices=("adam", "rmsprop", "sgd"))
    lr: float = _opt(2e-4, low=0.0, low_open=True)
    betas: tuple[float, float] = (0.5, 0.999)
    momentum: float = _opt(0.0, low=0.0, high=1.0)
    alpha: float = _opt(0.99, low=0.0, high=1.0, why="RMSProp's smoothing constant")
    eps: float = _opt(1e-8, low=0.0, low_open=True)
    weight_decay: float = _opt(0.0, low=0.0)


@dataclass
class GradientPenaltyConfig:
    """Gulrajani et al. 2017, eq. 3: λ E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = αx + (1 − α)G(z), α ~ U[0, 1] per sample."""

    weight: float = _opt(0.0, low=0.0, why="λ; 0 turns the penalty off")
    target: float = _opt(1.0, low=0.0, why="the gradient norm the penalty pulls towards (0: zero-centred, "
                         "Thanh-Tung et al. 2019)")
    one_sided: bool = _opt(False, why="only norms above the target are penalised (WGAN-LP, Petzka et al. 2018)")


@dataclass
class DraganConfig:
    """Kodali et al. 2017: λ E[(‖∇D(x̂)‖₂ − 1)²] at x̂ between x and x + δ, δ ~ c · std(x) · U[0, 1]."""

    weight: float = _opt(0.0, low=0.0, why="λ (10 in Kodali et al.); 0 turns the penalty off")
    perturbation: float = _opt(0.5, low=0.0, low_open=True, why="c, the noise scale in standard deviations of "
                               "the real batch")


@dataclass
class LipschitzConfig:
    """How the critic is kept (approximately) 1-Lipschitz, or its gradients penalised; any combination may be
    switched on."""

    clip: float = _opt(0.0, low=0.0, why="c of weight clipping (Arjovsky et al. 2017); 0 turns it off")
    gradient_penalty: GradientPenaltyConfig = field(default_factory=GradientPenaltyConfig)
    spectral_norm: bool = False
    r1: float = _opt(0.0, low=0.0, why="γ of R1, (γ/2) E‖∇D(x)‖² on reals (Mescheder et al. 2018, eq. 9); 0: off")
    r2: float = _opt(0.0, low=0.0, why="γ of R2, (γ/2) E‖∇D(G(z))‖² on fakes (R3GAN); 0: off")
    dragan: DraganConfig = field(default_factory=DraganConfig)
    every: int = _opt(1, low=1, why="lazy regularization (Karras et al. 2020): the gradient penalties on every k-th "
                      "critic step only, with their weight × k")


@dataclass
class LabelsConfig:
    """Discriminator targets of the GAN objectives (Salimans et al. 2016; the practical guide, §4.1 and §4.5)."""

    real: float = _opt(1.0, low=0.0, high=1.0, why="0.9 is one-sided label smoothing")
    fake: float = _opt(0.0, low=0.0, high=1.0, why="above 0 is two-sided smoothing, which the guide warns against")
    flip: float = _opt(0.0, low=0.0, high=0.5, why="probability that a sample's real/fake target is swapped "
                       "(noisy labels; the guide's suggestion is 0.05)")


@dataclass
class ReplayConfig:
    """Experience replay (the practical guide, §4.2): show the discriminator past fakes again."""

    mode: str = _opt("none", choices=("none", "step", "pool"),
                     why="step: keep one random fake per batch and take an extra discriminator step on them when "
                     "'every' are kept; pool: mix past fakes into each discriminator batch (Shrivastava et al.)")
    every: int = _opt(0, low=0, why="fakes kept before each replay step; 0: dataset size / batch size, as the "
                      "guide advises (one per batch of an epoch)")
    pool_size: int = _opt(50, low=1)
    pool_share: float = _opt(0.5, low=0.0, high=1.0, why="chance that a fake is swapped for a stored one")


@dataclass
class MinibatchConfig:
    """Minibatch discrimination (Salimans et al. 2016, §3.2; the guide, §4.3) before the discriminator's output."""

    kernels: int = _opt(0, low=0, why="B, the features added; the guide's best: 128; 0 turns it off")
    kernel_dim: int = _opt(5, low=1, why="C, the dimension each kernel compares in")
    dense_after: int = _opt(0, low=0, why="units of a dense layer after it (the guide's best: 256)")


@dataclass
class HistoricalAveragingConfig:
    """Salimans et al. 2016, §3.3: a penalty weight · ‖θ − mean of past θ‖² on each network's loss."""

    generator: float = _opt(0.0, low=0.0)
    discriminator: float = _opt(0.0, low=0.0)


@dataclass
class DiffAugmentConfig:
    """DiffAugment (Zhao et al. 2020): the same differentiable augmentations on every sample the critic scores,
    real and fake, in both steps, so a critic trained on few images cannot memorise them."""

    policy: str = _opt("none", why="comma-separated: color, translation, cutout (all three: their choice for "
                       "small datasets); none turns it off")
    probability: float = _opt(1.0, low=0.0, high=1.0, why="each transform is applied to each sample with this "
                              "probability (1 in Zhao et al.)")


@dataclass
class TricksConfig:
    """The classic GAN training techniques; each composes with the others and with any objective that allows it."""

    labels: LabelsConfig = field(default_factory=LabelsConfig)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    minibatch: MinibatchConfig = field(default_factory=MinibatchConfig)
    feature_matching: str = _opt("none", choices=("none", "features", "last"),
                                 why="the generator matches the mean discriminator features of real data: "
                                 "'features' after the convolutions, 'last' before the output layer")
    historical_averaging: HistoricalAveragingConfig = field(default_factory=HistoricalAveragingConfig)
    diffaugment: DiffAugmentConfig = field(default_factory=DiffAugmentConfig)


@dataclass
class ConditioningConfig:
    """Class-conditional models: the generator always gets the one-hot label concatenated to z."""

    mode: str = _opt("none", choices=("none", "concat", "channels", "projection"),
                     why="how the discriminator gets the label: concat to its dense layer after the convolutions "
                     "(guide §3.3), constant input channels (guide §5.5), or projection (Miyato & Koyama 2018)")
    vbn_reference: str = _opt("fixed", choices=("fixed", "current"),
                              why="labels of the virtual-batch-norm reference batch: fixed at the start (the "
                              "guide's choice) or the current batch's")


@dataclass
class DivergenceConfig:
    """What to do when a loss or gradient turns NaN or infinite."""

    action: str = _opt("stop", choices=("stop", "rollback"),
                       why="rollback reloads the last checkpoint and lowers both learning rates")
    lr_factor: float = _opt(0.5, low=0.0, high=1.0, low_open=True)
    max_rollbacks: int = _opt(3, low=0)


@dataclass
class EvalConfig:
    """Opt-in measurements: at each in-training evaluation beside FID or the toy metrics, and after a study's run."""

    wasserstein: bool = _opt(False, why="the exact W1 between a real and a generated batch in data space, next to "
                             "the critic's estimate and three real baselines (Stanczuk et al. 2021)")
    batch: int = _opt(256, low=2, high=4096, why="samples per batch of that W1 (an exact assignment: B x B costs)")
    augment: int = _opt(0, low=0, why="in a study, score each conditional run's final generator as data "
                        "augmentation (wganlab augment) with this many classifier seeds; 0: off")


@dataclass
class RunConfig:
    """Everything that defines one training run; written resolved into the run directory."""

    description: str = ""
    data: DataConfig = field(default_factory=DataConfig)
    steps: int = _opt(10_000, low=1, why="generator updates")
    batch_size: int | None = _opt(None, low=1, why="null picks 256 for 2D toys and 64 for images; under torchrun "
                                "the global batch, split evenly over the processes")
    seed: int = _opt(0, low=0, high=2**63 - 1)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: str = _opt("non-saturating", choices=OBJECTIVES.names)  # read when validating: registrable
    lipschitz: LipschitzConfig = field(default_factory=LipschitzConfig)
    critic_steps: int = _opt(1, low=1, why="n_critic: discriminator updates per generator update")
    critic_burst: bool = False
    critic_burst_steps: int = _opt(100, low=1, why="critic updates per generator step in a burst (Arjovsky: 100)")
    tricks: TricksConfig = field(default_factory=TricksConfig)
    conditioning: ConditioningConfig = field(default_factory=ConditioningConfig)
    g_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    d_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    lr_schedule: str = _opt("constant", choices=("constant", "linear"),
                            why="linear decays both learning rates to 0 at the last step (Gulrajani et al.)")
    lr_decay_from: tuple[float, float] | None = _opt(
        None, why="(step, share of the base rate): a linear decay that starts there instead of at step 0, set "
        "when a resume moves the last step (lr_extend=stretch|restart)")
    ema: float = _opt(0.0, low=0.0, high=1.0,
                      why="decay of an exponential moving average of the generator; 0 turns it off")
    log_every: int = _opt(50, low=1)
    sample_every: int = _opt(500, low=1)
    checkpoint_every: int = _opt(1000, low=1)
    keep_checkpoints: int = _opt(3, low=1)
    eval_every: int = _opt(1000, low=0, why="steps between FID (or toy modes/W1) evaluations, made at the first "
                           "logged step past each multiple; 0 turns them off")
    eval_samples: int = _opt(2000, low=2, why="generated samples per evaluation during training")
    eval: EvalConfig = field(default_factory=EvalConfig)
    best_metric: str | None = _opt(None, choices=BEST_METRICS,
                                   why="also keep checkpoints/best.pt at the lowest value of this logged metric")
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)
    device: str = _opt("auto", choices=("auto", "cpu", "cuda"))
    threads: int = _opt(0, low=0, why="torch CPU threads; 0 lets torch decide (cores / processes under torchrun)")
    precision: str = _opt("fp32", choices=("fp32", "bf16"),
                          why="bf16 runs the networks under bfloat16 autocast (for GPUs: 20-40x slower on CPUs "
                          "without bf16 units); losses, the penalty's gradient norm and spectral norm stay float32")
    channels_last: bool = _opt(True, why="convolutions on NHWC tensors: 12-18% faster DCGAN steps on this CPU, "
                               "and what GPU tensor cores want; no effect on MLPs")
    compile: str = _opt("off", choices=("off", "default", "reduce-overhead", "max-autotune"),
                        why="torch.compile mode for the generator and the critic; the gradient penalty's pass "
                        "stays eager, as compiled graphs have no double backward")
    sync_batch_norm: bool = _opt(False, why="under torchrun on GPUs, batch norm over the global batch "
                                 "(torch.nn.SyncBatchNorm) instead of each process's shard")

    @property
    def is_toy(self) -> bool:
        return self.data.name in TOY_DATASETS

    @property
    def is_vectors(self) -> bool:
        """2D toys and feature tables: one vector per sample, MLP networks, W1 evaluation."""
        return self.data.name in VECTOR_DATASETS

    @property
    def headed_discriminator(self) -> bool:
        """Whether the discriminator is rebuilt with a dense head (:mod:`wganlab.nets.heads`) for the tricks that
        plug in after its convolutions."""
        return bool(self.conditioning.mode != "none" or self.tricks.minibatch.kernels or self.model.d_dense
                    or self.tricks.feature_matching != "none")

    @property
    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 256 if self.is_vectors else 64

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(dataclasses.asdict(self))


# --------------------------------------------------------------------------------------------- loading


def available_presets() -> dict[str, str]:
    """Preset name -> its one-line description, in name order."""
    out = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        out[path.stem] = str(_read_yaml(path).get("description", ""))
    return out


def load_config(source: str | Path | dict | None = None, overrides: list[str] | tuple[str, ...] = ()) -> RunConfig:
    """Build a validated :class:`RunConfig` from a preset name, a YAML path or a dict, then ``key=value`` overrides.

    Raises :class:`ConfigError` with a one-line message for every kind of bad input.
    """
    if isinstance(source, dict):
        base = dict(source)
    elif source is not None:
        base = _resolve_source(str(source))
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
    merged = _deep_merge(base, user)
    if _data_name(merged.get("data")) in VECTOR_DATASETS:  # the presets' MLP settings suit any vector data
        merged = _deep_merge(_deep_merge(base, toy_overlay), user)
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
    config = _build(RunConfig, tree, "")
    _check_cross_field(config)
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
    for option in options:
        if not option.startswith("data.") or "=" not in option:
            raise ConfigError(f"'{option}' is not a data option; evaluation takes data.KEY=VALUE "
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


def _resolve_source(source: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    path = Path(source)
    if source.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise ConfigError(f"config file '{source}' does not exist; give a preset name or a path to a YAML file")
        tree = _read_yaml(path)
    else:
        if source in PRESET_RENAMES:
            print(f"wganlab: note: preset '{source}' is now called '{PRESET_RENAMES[source]}'", file=sys.stderr)
            source = PRESET_RENAMES[source]
        preset = PRESET_DIR / f"{source}.yaml"
        if not preset.is_file():
            near = _suggest(source, available_presets()).removeprefix("; ")
            raise ConfigError(f"unknown preset '{source}'{f' ({near})' if near else ''}; run 'wganlab presets' to "
                              "list them or pass a YAML file")
        tree = _read_yaml(preset)
    parent = tree.pop("extends", None)
    if parent is None:
        return tree
    if parent in seen:
        raise ConfigError(f"preset '{source}' extends '{parent}' in a cycle; break the 'extends:' chain")
    return _deep_merge(_resolve_source(str(parent), (*seen, source)), tree)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ConfigError(f"config file '{path}' is not valid YAML ({first}); fix the file") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file '{path}' ({err.strerror}); check the path") from None
    if tree is None:
        return {}
    if not isinstance(tree, dict):
        raise ConfigError(f"config file '{path}' must hold a mapping of keys, not a {type(tree).__name__}")
    return tree


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


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


# ------------------------------------------------------------------------------------------ validation


def _build(cls: type, value: Any, path: str) -> Any:
    if cls is DataConfig and isinstance(value, str):
        value = _data_shorthand(value)
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{path.rstrip('.') or 'config'}' must be a mapping of keys, got {value!r}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, item in value.items():
        if key not in known:
            raise ConfigError(f"unknown key '{path}{key}'{_suggest_key(str(key), path, known)}")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _build(kind, item, f"{path}{key}.")
        else:
            kwargs[key] = _coerce(_boolean_as_choice(item, known[key]), kind, f"{path}{key}")
            _check_field(known[key], kwargs[key], f"{path}{key}")
    return cls(**kwargs)


def _data_shorthand(text: str) -> dict[str, Any]:
    name, sep, root = text.partition(":")
    return {"name": name, "root": root} if sep else {"name": name}


def _coerce(value: Any, kind: Any, path: str) -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], path)
    if origin is tuple:
        if isinstance(value, str):
            value = [v for v in value.replace("(", "").replace(")", "").split(",") if v.strip()]
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise ConfigError(f"'{path}' must be a list of {len(args)} numbers, e.g. [0.5, 0.999]; got {value!r}")
        return tuple(_coerce(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))
    if kind is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"'{path}' must be true or false, got {value!r}")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"'{path}' must be an integer, got {value!r}")
    if kind is float:
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"'{path}' must be a finite number, got {value!r}")
    if kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"'{path}' must be a string, got {value!r}")
    raise ConfigError(f"'{path}' has an unsupported type")  # pragma: no cover - a bug in the dataclasses


_YAML_BOOLEAN_WORDS = {False: ("off", "no", "false"), True: ("on", "yes", "true")}


def _boolean_as_choice(value: Any, spec: dataclasses.Field) -> Any:
    """YAML 1.1 reads off/no/on/yes as booleans; for a field whose choices hold such a word (compile=off) the
    word is what the user wrote."""
    if not isinstance(value, bool):
        return value
    choices = spec.metadata.get("choices") if spec.metadata else None
    choices = choices() if callable(choices) else choices or ()
    return next((word for word in _YAML_BOOLEAN_WORDS[value] if word in choices), value)


def _check_field(spec: dataclasses.Field, value: Any, path: str) -> None:
    meta = spec.metadata
    if value is None or not meta:
        return
    why = f" ({meta['why']})" if meta.get("why") else ""
    choices = meta.get("choices")
    if callable(choices):  # a registry's names, as they are now
        choices = choices()
    if choices is not None and value not in choices:
        listed = ", ".join(str(c) for c in choices)
        raise ConfigError(f"'{path}' must be one of {listed}; got {value!r}{_suggest(str(value), choices)}")
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        left = "(" if meta.get("low_open") else "["
        allowed = f"{left}{_num(low) if low is not None else '-inf'}, {_num(high) if high is not None else 'inf'}]"
        raise ConfigError(f"'{path}' must lie in {allowed}, got {value!r}{why}")


def _check_cross_field(config: RunConfig) -> None:
    for role in ("g_optimizer", "d_optimizer"):
        betas = getattr(config, role).betas
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(f"'{role}.betas' must lie in [0, 1), got {list(betas)}")
    for name in ("idx", "folder", "lsun"):
        if config.data.name == name and not config.data.root:
            raise ConfigError(f"data={name} needs a path: write data={name}:PATH")
    if config.eval.wasserstein and not config.eval_every:
        raise ConfigError("eval.wasserstein=true measures at each evaluation during training: set eval_every > 0")
    if config.best_metric in ("fid", "w1") and not config.eval_every:
        raise ConfigError(f"best_metric={config.best_metric} needs evaluations during training: set eval_every > 0")
    crop = config.data.crop
    if crop not in ("auto", "square", "none") and not (crop.isdigit() and int(crop) > 0):
        raise ConfigError(f"'data.crop' must be auto, square, none or a positive number of pixels, got {crop!r}")
    if not config.is_vectors and not REGISTERED_ARCHITECTURES.can(config.model.arch, "images"):
        raise ConfigError(f"arch={config.model.arch} is a 2D toy network; pick an image arch such as dcgan")
    tricks = config.tricks
    labelled = (tricks.labels.real, tricks.labels.fake, tricks.labels.flip) != (1, 0, 0)
    if labelled and not OBJECTIVES.can(config.objective, "label_targets"):
        raise ConfigError(f"tricks.labels (smoothing, noisy labels) change the targets of the GAN objectives; "
                          f"objective={config.objective} has none: use one of "
                          f"{', '.join(OBJECTIVES.having('label_targets'))}, or drop tricks.labels")
    if tricks.replay.mode == "step" and OBJECTIVES.can(config.objective, "relativistic"):
        raise ConfigError(f"objective={config.objective} compares fakes with reals, so experience replay's steps on "
                          "fakes alone have no loss: use tricks.replay.mode=pool or another objective")
    if tricks.labels.fake >= tricks.labels.real:
        raise ConfigError(f"tricks.labels.fake ({tricks.labels.fake}) must be below tricks.labels.real "
                          f"({tricks.labels.real})")
    special = ("virtual", "reference")
    composed = config.headed_discriminator or config.model.g_norm in special or config.model.d_norm in special
    if composed and not REGISTERED_ARCHITECTURES.can(config.model.arch, "composable"):
        choices = [name for name in REGISTERED_ARCHITECTURES.having("composable") if name != "auto"]
        raise ConfigError(f"arch={config.model.arch} is a study's exact network; conditioning, minibatch "
                          "discrimination, feature matching, d_dense and virtual batch norm need arch="
                          f"{', '.join(choices)}")
    augment = config.tricks.diffaugment.policy
    unknown = sorted(set(augment.split(",")) - {"color", "translation", "cutout"}) if augment != "none" else []
    if unknown:
        raise ConfigError(f"'tricks.diffaugment.policy' takes color, translation and cutout (comma-separated) or "
                          f"none; {unknown[0]!r} is none of them")
    if config.data.limit and config.data.per_class:
        raise ConfigError("data.limit and data.per_class both choose the training rows; give one of them")
    subset = config.data.limit or config.data.per_class or config.data.subset_seed
    if config.is_toy and (augment != "none" or subset):  # tables take limits
        raise ConfigError("tricks.diffaugment, data.limit, data.per_class and data.subset_seed are for image datasets "
                          f"and tables; data={config.data.name} is a 2D toy with endless samples")
    if config.data.name == "stacked-mnist" and subset:
        raise ConfigError("data.limit, data.per_class and data.subset_seed choose training rows; data=stacked-mnist "
                          "draws its triples from every digit: drop them")
    if config.data.subset_seed and not (config.data.limit or config.data.per_class):
        raise ConfigError(f"data.subset_seed={config.data.subset_seed} draws which rows data.limit or data.per_class "
                          "keeps, but neither is set; give one (e.g. data.per_class=10) or drop data.subset_seed")
    if config.is_vectors and not REGISTERED_ARCHITECTURES.can(config.model.arch, "points"):
        choices = [name for name in REGISTERED_ARCHITECTURES.having("points") if name != "auto"]
        kind = "a 2D toy" if config.is_toy else "a feature table"
        raise ConfigError(f"arch={config.model.arch} is for images but data={config.data.name} is {kind}; "
                          f"use arch={' or arch='.join(choices)}")
    is_table = config.data.name in TABLE_DATASETS
    if is_table and not config.data.root:
        raise ConfigError("data=table needs its file: data=table:FILE.csv (label column: data.label=NAME), "
                          "data=table:FILE.npz (arrays x, y) or data=table:sklearn:wine")
    if config.data.label is not None and not is_table:
        raise ConfigError(f"data.label names a CSV table's class column; data={config.data.name} is not a table")
    if is_table and augment != "none":
        raise ConfigError("tricks.diffaugment augments images; data=table holds feature vectors")


def _suggest_key(key: str, section: str, known: Any) -> str:
    """The key the user meant: the same name in another section first (``arch`` -> ``model.arch``), then a
    near spelling in this section, then a near spelling anywhere."""
    everywhere = _dotted_keys(RunConfig)
    elsewhere = [dotted for dotted in everywhere if dotted.rsplit(".", 1)[-1] == key and dotted != section + key]
    if elsewhere:
        return f"; did you mean {' or '.join(repr(d) for d in elsewhere[:3])}?"
    return _suggest(key, known) or _suggest(section + key, everywhere)


def _dotted_keys(cls: type, prefix: str = "") -> list[str]:
    """Every key of ``cls`` as ``section.key``: sections and the settings inside them."""
    keys = []
    hints = get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        kind = hints[spec.name]
        keys.append(prefix + spec.name)
        if dataclasses.is_dataclass(kind):
            keys.extend(_dotted_keys(kind, f"{prefix}{spec.name}."))
    return keys


def _suggest(word: str, options: Any) -> str:
    """A near spelling among ``options``; none for numbers (24 is not a misspelt 64: the choices are listed)."""
    if word.lstrip("-").replace(".", "", 1).isdigit():
        return ""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def _num(x: float) -> str:
    return f"{x:g}"


def _to_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_plain(v) for v in value]
    return value


def save_config(config: RunConfig, path: Path) -> None:
    """Write the resolved config so a run directory alone says exactly what was trained."""
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
