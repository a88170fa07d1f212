"""wganlab: GANs and Wasserstein GANs from one config, compared fairly."""

from wganlab.config import RunConfig, load_config
from wganlab.errors import CheckpointError, ConfigError, DataError, WganlabError

__version__ = "0.1.0"
__all__ = ["CheckpointError", "ConfigError", "DataError", "RunConfig", "WganlabError", "load_config"]
