"""Settings as the ``key=value`` strings a user types after ``wganlab train PRESET``: how a study's runs (and a
search's trials) become commands."""

from __future__ import annotations

import json
from typing import Any


def as_overrides(settings: dict[str, Any], prefix: str = "") -> list[str]:
    """Settings as ``section.key=value`` strings (nested mappings flattened, as a user would type them); JSON is
    valid YAML, so every value round-trips through the parser."""
    out = []
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            out += as_overrides(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={value if isinstance(value, str) else json.dumps(value)}")
    return out


def last_wins(overrides: list[str]) -> list[str]:
    """Drop overrides that a later one of the same key replaces, so each run's command names every key once."""
    last = {item.split("=", 1)[0]: index for index, item in enumerate(overrides)}
    return [item for index, item in enumerate(overrides) if last[item.split("=", 1)[0]] == index]
