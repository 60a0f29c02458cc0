"""Where tensors live: `train.device` / `--device` (auto | cpu | cuda) resolved to a torch.device."""
from __future__ import annotations

import torch

from ..errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA when PyTorch sees a device; asking for CUDA where there is none is the user's to fix."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device = 'cuda' but PyTorch sees no CUDA device here. "
                          "Use --device cpu (or auto).")
    return torch.device(name)
