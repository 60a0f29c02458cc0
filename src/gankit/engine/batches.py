"""Batches as index slices of the in-memory training tensor (no DataLoader, no per-item Python)."""
from __future__ import annotations

import torch

from ..models.base import Batch


class BatchStream:
    """Endless shuffled batches; each epoch's order is a function of (seed, epoch), so the stream's whole
    state is two integers and a resumed run sees exactly the batches the uninterrupted one would."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor | None, batch_size: int, seed: int,
                 rank: int = 0, world: int = 1, channels_last: bool = False):
        """A distributed run (world > 1): batch_size is the global batch; this rank gets its
        batch_size / world slice of it, disjoint from the other ranks' (engine/distributed.py)."""
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.rank, self.world, self.channels_last = rank, world, channels_last
        self.local = batch_size // world
        self.epoch, self.pos = 0, 0
        self.steps_per_epoch = x.shape[0] // batch_size   # the last partial batch is dropped
        self._perm = self._order(0)

    def _order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.x.shape[0], generator=g).to(self.x.device)

    def next(self) -> Batch:
        if self.pos + self.batch_size > self.x.shape[0]:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._order(self.epoch)
        start = self.pos + self.rank * self.local
        idx = self._perm[start:start + self.local]
        self.pos += self.batch_size
        x = self.x[idx]
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return Batch(x, None if self.y is None else self.y[idx])

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = self._order(self.epoch)
