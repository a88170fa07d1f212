"""Where a config's plain tree comes from: a preset name (``presets/*.yaml``, which may ``extends:`` another) or a
YAML file, read into nested dicts that :mod:`wganlab.config` merges with the user's overrides and validates."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from wganlab.errors import ConfigError
from wganlab.sections import suggest

PRESET_DIR = Path(__file__).parent / "presets"
# Old names that still work: each prints its new name (a saved config.yaml's arch is mapped silently).
PRESET_RENAMES = {"seed000-gan": "dtu-gan", "seed000-wc": "dtu-wgan-wc", "seed000-gp": "dtu-wgan-gp",
                  "seed000-sn": "dtu-wgan-sn"}


def available_presets() -> dict[str, str]:
    """Preset name -> its one-line description, in name order."""
    out = {}
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        out[path.stem] = str(_read_yaml(path).get("description", ""))
    return out


def resolve_source(source: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
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
            near = suggest(source, available_presets()).removeprefix("; ")
            raise ConfigError(f"unknown preset '{source}'{f' ({near})' if near else ''}; run 'wganlab presets' to "
                              "list them or pass a YAML file")
        tree = _read_yaml(preset)
    parent = tree.pop("extends", None)
    if parent is None:
        return tree
    if parent in seen:
        raise ConfigError(f"preset '{source}' extends '{parent}' in a cycle; break the 'extends:' chain")
    return deep_merge(resolve_source(str(parent), (*seen, source)), tree)


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


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
