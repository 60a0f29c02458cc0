"""WGAN (Arjovsky et al. 2017): a critic estimates the Wasserstein-1 distance, kept Lipschitz by
clipping its weights (Algorithm 1: c = 0.01, RMSprop lr 5e-5, 5 critic steps per generator step)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from torch import Tensor

from .. import losses
from ..config import OptimConfig, opt
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions

_RMSPROP = OptimConfig(name="rmsprop", lr=5e-5)


@dataclass
class WGANOptions(ObjectiveOptions):
    clip: Optional[float] = opt(0.01, "clip the critic's weights to [-c, c] after each update (paper: 0.01)")
    n_critic: int = opt(5, "critic steps per generator step (paper: 5)")
    optim_g: OptimConfig = opt(_RMSPROP, "generator optimizer (paper: RMSprop 5e-5)")
    optim_d: OptimConfig = opt(_RMSPROP, "critic optimizer (paper: RMSprop 5e-5)")


@register("model", "wgan", WGANOptions, "WGAN with weight clipping, Arjovsky et al. 2017")
class WGAN(ObjectiveModel):
    Options = WGANOptions

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = losses.wasserstein_d_loss(real_out, fake_out)
        # -loss is the critic's estimate of the Wasserstein distance (up to the Lipschitz constant).
        return loss, {"wdist": -loss.detach()}

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_g_loss(fake_out)
