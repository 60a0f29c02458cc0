"""An exponential moving average of G's weights, the generator that sampling and evaluation use.

Yazici et al. 2019 ("The unusual effectiveness of averaging in GAN training", eq. 2):
theta_ema <- beta theta_ema + (1 - beta) theta after every G update. Early on, the average would be dominated
by the random initial weights, so the decay ramps up as min(beta, (1 + n) / (10 + n)) after n updates (the
warm-up of TensorFlow's ExponentialMovingAverage).

Batch-norm statistics are not averaged: running statistics gathered under the trained weights do not fit the
averaged ones. While the average is swapped in, they are re-estimated under the averaged weights from a fixed
set of noise batches ("standing statistics", Brock et al. 2019, BigGAN appendix C.1), then restored, so
training is unaffected and the same checkpoint always gives the same samples.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional

import torch
from torch import nn

from ..errors import ConfigError

STANDING_BATCHES = 8      # noise batches that re-estimate the batch-norm statistics of the averaged G
STANDING_BATCH_SIZE = 256
STANDING_SEED = 20190227  # fixed: the statistics (and so the samples) depend on the weights alone


class GeneratorAverage:
    """Holds the average of `model.nets["G"]`'s parameters; `swapped_in()` makes G use it for a while."""

    def __init__(self, model: Any, decay: float):   # a gankit Model (untyped: base.py imports this module)
        self.model, self.decay = model, decay
        self.updates = 0
        self.params = [p.detach().clone() for p in self._G().parameters()]

    @classmethod
    def for_model(cls, model: Any) -> Optional["GeneratorAverage"]:
        decay = float(getattr(model.opts, "g_ema", 0.0) or 0.0)
        if decay == 0.0:   # its range is ModelOptions.check's
            return None
        if "G" not in model.nets or "G" not in model.optimizers:
            raise ConfigError(f"model.g_ema averages a model's one trained generator 'G'; "
                              f"{type(model).__name__} has the nets {sorted(model.nets)}. Set model.g_ema=0.")
        return cls(model, decay)

    def _G(self) -> nn.Module:
        G = self.model.nets["G"]
        return getattr(G, "module", G)    # a DistributedDataParallel wrapper shares its module's parameters

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average, after a G update."""
        self.updates += 1
        beta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        torch._foreach_lerp_(self.params, [p.detach() for p in self._G().parameters()], 1.0 - beta)

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """G runs on the averaged weights (and batch-norm statistics re-estimated for them) inside."""
        G = self._G()
        live = [p.detach().clone() for p in G.parameters()]
        norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
        saved = [{k: v.clone() for k, v in m.state_dict().items()} for m in norms]
        try:
            with torch.no_grad():
                for p, a in zip(G.parameters(), self.params):
                    p.copy_(a)
            if norms:
                self._standing_statistics(G, norms)
            yield
        finally:
            with torch.no_grad():
                for p, v in zip(G.parameters(), live):
                    p.copy_(v)
                for m, s in zip(norms, saved):
                    m.load_state_dict(s)

    @torch.no_grad()
    def _standing_statistics(self, G: nn.Module, norms: list) -> None:
        momenta = [m.momentum for m in norms]
        was_training = G.training
        for m in norms:
            m.reset_running_stats()
            m.momentum = None          # a cumulative average over the batches below
        # Sampling runs on bare nets: the trainer samples inside engine.distributed.unwrapped, so no DDP
        # forward (and its buffer broadcast) happens here.
        G.train()
        try:
            rng = torch.Generator().manual_seed(STANDING_SEED)
            for _ in range(STANDING_BATCHES):
                self.model.generate(**self.model.latent(STANDING_BATCH_SIZE, rng))
        finally:
            for m, mom in zip(norms, momenta):
                m.momentum = mom
            G.train(was_training)

    def state_dict(self) -> dict:
        return {"params": [p.clone() for p in self.params], "updates": self.updates}

    def load_state_dict(self, state: Optional[dict]) -> None:
        """Restore the average; none (a run that did not keep one) starts it from G's current weights."""
        G = self._G()
        if not state:
            self.params, self.updates = [p.detach().clone() for p in G.parameters()], 0
            return
        shapes = [tuple(p.shape) for p in G.parameters()]
        got = [tuple(t.shape) for t in state["params"]]
        if got != shapes:
            raise ConfigError(f"the checkpoint's averaged generator (model.g_ema) has {len(got)} tensors that do not "
                              f"fit this G's {len(shapes)}; it was written for other networks.")
        self.params = [t.detach().clone().to(p.device, p.dtype) for t, p in zip(state["params"], G.parameters())]
        self.updates = int(state["updates"])
