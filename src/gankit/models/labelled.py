"""Labelled subsets of a training set and endless seeded index streams over them, shared by the models that
train with a few labels (ssgan, cvaegan's `labels: N`)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError


def labelled_subset(labels: Tensor, per_class: int, n_classes: int, seed: int,
                    option: str = "model.labels_per_class", draw: str = "torch") -> Tensor:
    """Indices of a balanced labelled subset: the first `per_class` images of each class in a seeded
    permutation of the training set (the authors' selection). `draw="numpy"` permutes with numpy's
    RandomState(seed), as openai/improved-gan's scripts do (`data_rng.permutation`), so that with their
    `--seed_data` and MNIST in its canonical order the subset is theirs, image for image."""
    if draw == "numpy":
        perm = torch.from_numpy(np.random.RandomState(seed).permutation(len(labels)))
    else:
        perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    picked = []
    for k in range(n_classes):
        idx = perm[labels[perm] == k]
        if len(idx) < per_class:
            raise ConfigError(f"{option} asks for {per_class} labelled images per class, but class {k} has "
                              f"only {len(idx)} training images" + (" (data.limit is set)" if len(labels) < 60000 else "")
                              + f". Use at most {len(idx)} per class.")
        picked.append(idx[:per_class])
    return torch.cat(picked)


class _Cycle:
    """Endless reshuffled passes over n indices; order is a function of (seed, pass), so the state is two
    integers (exact resume)."""

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._order(0)

    def _order(self, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(self.seed * 7_919 + epoch)
        reps = max(1, math.ceil(self.batch_size / self.n))   # a subset smaller than a batch is tiled
        return torch.cat([torch.randperm(self.n, generator=g) for _ in range(reps)])

    def take(self, n: int) -> Tensor:
        """The next `n` indices; the first call fixes the batch size (the trainer's, known at the first step)."""
        if self.batch_size != n:
            self.batch_size = n
            self._perm = self._order(self.epoch)
        return self.next()

    def next(self) -> Tensor:
        if self.pos + self.batch_size > len(self._perm):
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._order(self.epoch)
        idx = self._perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, s: dict) -> None:
        self.epoch, self.pos = int(s["epoch"]), int(s["pos"])
        self._perm = self._order(self.epoch)
