"""Inception-V3 pool3 features (2048-d), the standard FID network, through torch-fidelity's feature extractor.

torch-fidelity reproduces the TensorFlow graph the FID was defined with (its bilinear resize to 299x299
included), so numbers made here compare with published ones. It is an optional extra (``inception``) because
it imports torchvision. Weights come from a local file
(``--inception-weights`` or ``$WGANLAB_INCEPTION_WEIGHTS``), else from torch's hub cache where torch-fidelity
downloads them when online. Because torch-fidelity itself loads that file with ``weights_only=False``, the file is
first opened here with ``weights_only=True``: one carrying pickled code is refused before torch-fidelity sees it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from wganlab.errors import CheckpointError, ConfigError

WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
FEATURE_DIM = 2048


def hub_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE


def resolve_weights(path: str | Path | None = None) -> Path:
    """The weights file to use: the argument, ``$WGANLAB_INCEPTION_WEIGHTS``, or torch's hub cache."""
    chosen = path or os.environ.get("WGANLAB_INCEPTION_WEIGHTS")
    candidate = Path(chosen).expanduser() if chosen else hub_weights_path()
    if not candidate.is_file():
        raise ConfigError(f"Inception-V3 weights not found at '{candidate}'; download {WEIGHTS_FILE} (the pt_inception "
                          "release of pytorch-fid / torch-fidelity) and pass --inception-weights PATH, set "
                          f"WGANLAB_INCEPTION_WEIGHTS, or put it in '{hub_weights_path().parent}' (28x28 greyscale "
                          "images need neither: --features mnist or fashion-mnist)")
    try:
        torch.load(candidate, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure: the file must not reach an unrestricted load
        raise CheckpointError(f"'{candidate}' is not a plain weights file ({str(err).splitlines()[0][:120]}); "
                              "refusing to load it") from None
    return candidate


def import_torch_fidelity():
    """Import torch-fidelity, also where torchvision's compiled ops cannot load.

    A torchvision wheel built for another CUDA/CPU flavour of torch fails at import while registering fake kernels
    for ``torchvision::nms`` and ``qnms``, ops its C++ library should have defined. torch-fidelity's Inception path
    needs none of torchvision's ops, so defining those two schemas first lets the Python half import.
    """
    try:
        import torch_fidelity
    except RuntimeError as err:
        if "torchvision::nms" not in str(err):
            raise
        library = torch.library.Library("torchvision", "DEF")
        library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _SCHEMAS.append(library)  # the definitions live as long as this object
        for name in [m for m in sys.modules if m.startswith(("torchvision", "torch_fidelity"))]:
            del sys.modules[name]
        import torch_fidelity
    return torch_fidelity


_SCHEMAS: list = []


class InceptionFeatures:
    """Callable: uint8 images N x C x H x W (C = 1 or 3, any size) -> float32 features N x 2048."""

    def __init__(self, weights: str | Path | None = None, device: torch.device | str = "cpu",
                 batch_size: int = 50) -> None:
        try:
            import_torch_fidelity()
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as err:
            pin = torch.__version__.split("+")[0]  # without it pip may plan another torch, with CUDA wheels
            raise ConfigError(f"Inception features need torch-fidelity ({err}); install it with "
                              f"pip install torch-fidelity 'torch=={pin}' (wganlab's inception extra); 28x28 greyscale "
                              "images need it not: --features mnist or fashion-mnist") from None
        path = resolve_weights(weights)
        with torch.random.fork_rng(devices=[]):  # the random init is overwritten: leave the caller's RNG alone
            self.model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                     feature_extractor_weights_path=str(path)).to(device)
        self.weights = path
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.features_and_probs(images)[0]

    @torch.no_grad()
    def features_and_probs(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool3 features and the softmax of the unbiased logits (for the Inception Score)."""
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ConfigError(f"Inception features need uint8 images N x 1|3 x H x W, got {images.dtype} "
                              f"{tuple(images.shape)}")
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)  # grayscale repeated to three channels
        features, probs = [], []
        for batch in images.split(self.batch_size):
            pool, logits = self.model(batch.to(self.device))
            features.append(pool.float().cpu())
            probs.append(torch.softmax(logits.double(), dim=1).float().cpu())
        return torch.cat(features), torch.cat(probs)
