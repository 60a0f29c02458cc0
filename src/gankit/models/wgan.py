"""WGAN (Arjovsky et al. 2017): a critic estimates the Wasserstein-1 distance, kept Lipschitz by
clipping its weights (Algorithm 1: c = 0.01, RMSprop lr 5e-5, 5 critic steps per generator step).

`critic_boost` adds the authors' code's schedule (martinarjovsky/WassersteinGAN, main.py): 100 critic steps
before each of the first 25 generator steps and before every 500th, so the critic is near its optimum
when the generator starts following it (the Wasserstein estimate is only meaningful then)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from torch import Tensor

from .. import losses
from ..options import opt
from .optim import OptimConfig
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions

_RMSPROP = OptimConfig(name="rmsprop", lr=5e-5)


@dataclass
class WGANOptions(ObjectiveOptions):
    clip: Optional[float] = opt(0.01, "clip the critic's weights to [-c, c] after each update (paper: 0.01)")
    n_critic: int = opt(5, "critic steps per generator step (paper: 5)")
    optim_g: OptimConfig = opt(_RMSPROP, "generator optimizer (paper: RMSprop 5e-5)")
    optim_d: OptimConfig = opt(_RMSPROP, "critic optimizer (paper: RMSprop 5e-5)")
    critic_boost: bool = opt(False, "authors' code: 100 critic steps before each of the first 25 generator "
                                    "steps and every 500th (else n_critic)")


@register("model", "wgan", WGANOptions, "WGAN with weight clipping, Arjovsky et al. 2017")
class WGAN(ObjectiveModel):
    Options = WGANOptions

    def g_step_due(self, step: int) -> bool:
        if self.opts.critic_boost:
            return boosted_g_step_due(step, self.opts.n_critic)
        return super().g_step_due(step)

    @property
    def g_horizon(self) -> int | None:
        if not self.opts.critic_boost or self.horizon is None:
            return super().g_horizon
        return max(1, sum(self.g_step_due(s) for s in range(self.horizon)))

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = losses.wasserstein_d_loss(real_out, fake_out)
        # -loss is the critic's estimate of the Wasserstein distance (up to the Lipschitz constant).
        return loss, {"wdist": -loss.detach()}

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return losses.wasserstein_g_loss(fake_out)


BOOST_ITERS, BOOST_FIRST, BOOST_EVERY = 100, 25, 500   # the authors' code's warm-up schedule


def boosted_g_step_due(step: int, n_critic: int) -> bool:
    """Does critic step `step` (0-based) end with a generator step under the authors' schedule: generator
    step g follows 100 critic steps when g < 25 or g % 500 == 0, else n_critic? A pure function of the
    step, so a resumed run keeps the schedule."""
    s = step + 1   # critic steps done, this one included
    first = BOOST_FIRST * BOOST_ITERS
    if s <= first:
        return s % BOOST_ITERS == 0
    s -= first
    rest = (BOOST_EVERY - BOOST_FIRST) * n_critic   # generator steps 25 .. 499
    if s <= rest:
        return s % n_critic == 0
    s -= rest
    block = BOOST_ITERS + (BOOST_EVERY - 1) * n_critic   # generator steps 500m .. 500m + 499
    r = (s - 1) % block + 1
    return r == BOOST_ITERS if r <= BOOST_ITERS else (r - BOOST_ITERS) % n_critic == 0
