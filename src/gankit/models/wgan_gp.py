"""WGAN-GP (Gulrajani et al. 2017): the WGAN critic with a gradient penalty instead of clipping
(Algorithm 1: lambda = 10, 5 critic steps, Adam lr 1e-4, betas 0, 0.9)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from ..options import opt
from .optim import OptimConfig
from ..registry import register
from .wgan import WGAN, WGANOptions

_ADAM = OptimConfig(name="adam", lr=1e-4, betas=(0.0, 0.9))


@dataclass
class WGANGPOptions(WGANOptions):
    penalty: Literal["none", "wgan-gp", "dragan"] = opt(
        "wgan-gp", "gradient penalty at random interpolates of real and fake (eq. 3)")
    penalty_weight: float = opt(10.0, "lambda, weight of the gradient penalty (paper: 10)")
    clip: Optional[float] = opt(None, "no weight clipping: the penalty replaces it")
    optim_g: OptimConfig = opt(_ADAM, "generator optimizer (paper: Adam 1e-4, betas 0, 0.9)")
    optim_d: OptimConfig = opt(_ADAM, "critic optimizer (paper: Adam 1e-4, betas 0, 0.9)")


@register("model", "wgan-gp", WGANGPOptions, "WGAN-GP, Gulrajani et al. 2017")
class WGANGP(WGAN):
    Options = WGANGPOptions
