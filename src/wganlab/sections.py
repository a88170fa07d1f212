"""How a part of wganlab declares its settings: a dataclass of options, the section of the config they join, and the
rules that check them against the few facts every part may know of a run.

A trick, a Lipschitz method or a network part keeps its settings in its package's ``settings.py`` (which never
imports torch, so reading a config stays fast) beside the part itself (``hook.py``) and names them in its registry
line; :mod:`wganlab.config` composes the registered settings into the config's sections, checks each with its own
rules, and hands each part only its own settings when the run is built. Adding a trick therefore touches its
package and one registry line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args, get_origin, get_type_hints

from wganlab.errors import ConfigError
from wganlab.registry import ARCHITECTURES


def option(default: Any = None, *, choices: tuple | Callable[[], tuple] | None = None, low: float | None = None,
           high: float | None = None, low_open: bool = False, why: str = "") -> Any:
    """A dataclass field carrying its allowed values and the reason for them, which the config's validation
    reads and its error messages quote."""
    meta = {"choices": choices, "low": low, "high": high, "low_open": low_open, "why": why}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Facts:
    """What every part may know of the run besides its own settings."""

    data: str  # the dataset's name (mnist, 8gaussians, table, ...)
    data_kind: str  # "points" (2D toys), "table" (feature vectors) or "images"
    objective: str
    arch: str
    batch_size: int  # the whole batch, over every process
    eval_every: int  # steps between evaluations during training; 0: none
    penalty_every: int  # lazy regularization: every gradient penalty acts on each k-th critic step (lipschitz.every)

    @property
    def images(self) -> bool:
        return self.data_kind == "images"


def no_rules(settings: Any, facts: Facts) -> None:
    """The check of settings whose fields' own ranges and choices say all there is."""


@dataclass(frozen=True)
class Section:
    """One part's settings: the fields of ``settings`` (a dataclass) join the config's section at ``path``
    (``"lipschitz"``, ``"tricks"``, or ``""`` for the run itself); ``check`` raises :class:`ConfigError` for a
    combination the part cannot serve."""

    path: str
    settings: type
    check: Callable[[Any, Facts], None] = no_rules
    needs_head: Callable[[Any], bool] | None = None  # these settings plug in after the critic's convolutions
    # the range an equal-budget search draws this part's strength from while it is on, in a study file's syntax
    # ({"lipschitz.clip": {"log_uniform": [0.003, 0.1]}}; keys joined by "+" share one draw): wganlab.study.search
    search_space: Callable[[Any], dict[str, dict[str, list]]] | None = None

    def fields(self) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(self.settings)

    def read(self, section: Any) -> Any:
        """This part's settings, taken from the composed config section that holds them."""
        return self.settings(**{spec.name: getattr(section, spec.name) for spec in self.fields()})


def require_composable(arch: str, what: str) -> None:
    """Refuse ``what`` (conditioning, a dense head, ...) on a study's exact network, naming the ones that take it."""
    if not ARCHITECTURES.can(arch, "composable"):
        choices = [name for name in ARCHITECTURES.having("composable") if name != "auto"]
        raise ConfigError(f"arch={arch} is a study's exact network; {what} needs arch={', '.join(choices)}")


# ------------------------------------------------------------------------------ validating plain values


def build_section(cls: type, value: Any, path: str = "", root: type | None = None) -> Any:
    """``value`` (a plain mapping, as YAML gives it) validated into the dataclass ``cls``: ``path`` is its place in
    the config (``"lipschitz."``) and ``root`` the whole config's class, for the error messages' suggestions."""
    root = root or cls
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"'{path.rstrip('.') or 'config'}' must be a mapping of keys, got {value!r}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, item in value.items():
        if key not in known:
            raise ConfigError(f"unknown key '{path}{key}'{_suggest_key(str(key), path, known, root)}")
        kind = hints[key]
        if dataclasses.is_dataclass(kind):
            kwargs[key] = build_section(kind, item, f"{path}{key}.", root)
        else:
            kwargs[key] = _coerce(_boolean_as_choice(item, known[key]), kind, f"{path}{key}")
            _check_field(known[key], kwargs[key], f"{path}{key}")
    return cls(**kwargs)


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
        raise ConfigError(f"'{path}' must be one of {listed}; got {value!r}{suggest(str(value), choices)}")
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (value <= low if meta.get("low_open") else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        left = "(" if meta.get("low_open") else "["
        allowed = f"{left}{_num(low) if low is not None else '-inf'}, {_num(high) if high is not None else 'inf'}]"
        raise ConfigError(f"'{path}' must lie in {allowed}, got {value!r}{why}")


def _suggest_key(key: str, section: str, known: Any, root: type) -> str:
    """The key the user meant: the same name in another section first (``arch`` -> ``model.arch``), then a
    near spelling in this section, then a near spelling anywhere."""
    everywhere = _dotted_keys(root)
    elsewhere = [dotted for dotted in everywhere if dotted.rsplit(".", 1)[-1] == key and dotted != section + key]
    if elsewhere:
        return f"; did you mean {' or '.join(repr(d) for d in elsewhere[:3])}?"
    return suggest(key, known) or suggest(section + key, everywhere)


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


def suggest(word: str, options: Any) -> str:
    """A near spelling among ``options``; none for numbers (24 is not a misspelt 64: the choices are listed)."""
    if word.lstrip("-").replace(".", "", 1).isdigit():
        return ""
    close = difflib.get_close_matches(word, [str(o) for o in options], n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else ""


def _num(x: float) -> str:
    return f"{x:g}"
