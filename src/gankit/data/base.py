"""The in-memory dataset every loader returns, and the options all datasets share."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Optional

import torch

from ..memory import check_seed
from ..options import Options, opt


@dataclass
class DataOptions(Options):
    """Options shared by every dataset."""

    seed: int = opt(0, "seed of generated data and of train/test splits")
    limit: Optional[int] = opt(None, "keep only the first N training samples (quick experiments, tests)")

    def check(self, path: str) -> None:
        super().check(path)
        check_seed(self.seed, f"{path}.seed")


@dataclass
class Dataset:
    """A whole dataset as tensors. Images: float32 (N, C, H, W) in [-1, 1]. Points: float32 (N, D).
    Pairs (two image domains, data/domains.py): float32 (N, 2, C, H, W), [:, 0] domain A, [:, 1] domain B."""

    name: str
    kind: Literal["image", "points", "pair"]
    train: torch.Tensor
    train_labels: Optional[torch.Tensor] = None     # int64 (N,)
    test: Optional[torch.Tensor] = None
    test_labels: Optional[torch.Tensor] = None
    n_classes: Optional[int] = None
    info: dict = field(default_factory=dict)        # e.g. toy mode centres, class names, source path

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.train.shape[1:])

    def __len__(self) -> int:
        return self.train.shape[0]
