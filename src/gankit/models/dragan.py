"""DRAGAN (Kodali et al. 2017): the GAN objective with a gradient penalty (||grad D(x_hat)|| - 1)^2 at
points perturbed around the real data, x_hat = x + C std(x) delta, C = 0.5, lambda = 10, Adam; delta ~ U(0, 1)
as the reference code (default) or N(0, 1) as the paper's penalty (`dragan_noise: normal`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..options import opt
from .optim import OptimConfig
from ..registry import register
from .gan import GAN, GANOptions

_ADAM = OptimConfig(name="adam", lr=1e-4, betas=(0.5, 0.9))   # the authors' reference code


@dataclass
class DRAGANOptions(GANOptions):
    penalty: Literal["none", "wgan-gp", "dragan"] = opt(
        "dragan", "gradient penalty at perturbed real points (the DRAGAN regulariser)")
    penalty_weight: float = opt(10.0, "lambda, weight of the penalty (paper: 10)")
    optim_g: OptimConfig = opt(_ADAM, "generator optimizer (reference code: Adam 1e-4, betas 0.5, 0.9)")
    optim_d: OptimConfig = opt(_ADAM, "discriminator optimizer (reference code: Adam 1e-4, betas 0.5, 0.9)")


@register("model", "dragan", DRAGANOptions, "DRAGAN, Kodali et al. 2017")
class DRAGAN(GAN):
    Options = DRAGANOptions
