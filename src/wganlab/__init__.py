"""wganlab: GANs and Wasserstein GANs from one config, compared fairly.

The Python API (:mod:`wganlab.api`): ``train``, ``open_run``, ``sample``, ``evaluate`` and the :class:`Run` they
return; ``load_config`` builds a validated config without training.
"""

from wganlab.api import Run, evaluate, open_run, sample, train
from wganlab.config import RunConfig, load_config
from wganlab.errors import CheckpointError, ConfigError, DataError, WganlabError
from wganlab.version import __version__

__all__ = [
           "CheckpointError",
           "ConfigError",
           "DataError",
           "Run",
           "RunConfig",
           "WganlabError",
           "__version__",
           "evaluate",
           "load_config",
           "open_run",
           "sample",
           "train",
]
