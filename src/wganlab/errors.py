"""Typed errors for everything a user can get wrong.

The command line turns any :class:`WganlabError` into one line on stderr and exit code 2, so each message
must name the problem *and* the fix; a traceback is reserved for bugs in wganlab itself.
"""

from __future__ import annotations

EXIT_USAGE = 2  # the command line's exit code for a WganlabError: the user's input, to fix
EXIT_FAILED = 1  # training diverged, a study's run failed, a checkpoint is bad


class WganlabError(Exception):
    """Base class: a problem with the user's input, not a bug.

    Messages often quote what the user typed; line breaks in it are escaped so that every message stays the
    one line the command line promises.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(str(message).replace("\r", "\\r").replace("\n", "\\n"))


class ConfigError(WganlabError):
    """An unknown key, a wrong type, or a value out of its allowed range."""


class DataError(WganlabError):
    """A dataset that is missing, truncated or in the wrong format."""


class CheckpointError(WganlabError):
    """A run directory or checkpoint that cannot be read or resumed."""
