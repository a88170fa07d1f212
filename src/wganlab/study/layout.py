"""A study directory's layout and its record, shared by what writes it (the runner) and what reads it (tables,
reports, the reproduction page), so that neither imports the other.

``OUT/study.json`` holds the expanded runs (``wganlab report`` rebuilds without the study file), ``OUT/runs/NAME/``
each run, ``OUT/replaced/`` runs retrained with ``--rerun-changed``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wganlab.errors import WganlabError

MANIFEST_FILE = "study.json"
RUNS_DIR = "runs"
REPLACED_DIR = "replaced"  # runs a study retrained with --rerun-changed, kept rather than deleted


class StudyChanged(WganlabError):
    """The study now asks for other configs than runs under its directory were trained with."""


def read_manifest(out: Path) -> dict[str, Any]:
    path = Path(out) / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WganlabError(f"'{out}' is not a study directory (no {MANIFEST_FILE}); give the directory that "
                           "'wganlab study' wrote") from None
    except json.JSONDecodeError as err:
        raise WganlabError(f"'{path}' is not valid JSON ({err}); re-run 'wganlab study' to rewrite it") from None
