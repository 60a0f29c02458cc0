"""WGAN-GP (Gulrajani et al. 2017): Wasserstein critic with a gradient penalty instead of clipping."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import losses
from ..config import OptimConfig, opt
from ..errors import ConfigError
from ..registry import register
from .base import Batch, Model, ModelOptions

_ADAM = OptimConfig(name="adam", lr=1e-4, betas=(0.0, 0.9))   # the paper's Algorithm 1 defaults


@dataclass
class WGANGPOptions(ModelOptions):
    gp_weight: float = opt(10.0, "lambda, weight of the gradient penalty (paper: 10)")
    n_critic: int = opt(5, "critic steps per generator step (paper: 5)")
    optim_g: OptimConfig = opt(_ADAM, "generator optimizer (paper: Adam 1e-4, betas 0, 0.9)")
    optim_d: OptimConfig = opt(_ADAM, "critic optimizer (paper: Adam 1e-4, betas 0, 0.9)")

    def check(self, path: str) -> None:
        super().check(path)
        if self.gp_weight < 0:
            raise ConfigError(f"{path}.gp_weight must be >= 0, got {self.gp_weight}.")
        if getattr(self.discriminator, "norm", None) == "batch":
            raise ConfigError(
                f"{path}.discriminator.norm = 'batch' is not allowed for wgan-gp: batch normalization "
                "makes each critic output depend on the whole batch, which invalidates the per-sample "
                "gradient penalty (Gulrajani et al. 2017, sec. 4). Use norm: layer (the paper's choice) "
                "or none.")


@register("model", "wgan-gp", WGANGPOptions, "WGAN-GP, Gulrajani et al. 2017")
class WGANGP(Model):
    Options = WGANGPOptions

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        D = self.nets["D"]
        with torch.no_grad():
            fake = self.generate(**self.latent(batch.x.shape[0]))
        w_loss = losses.wasserstein_d_loss(D(batch.x), D(fake))
        gp = losses.gradient_penalty(D, losses.interpolate(batch.x, fake))
        loss = w_loss + self.opts.gp_weight * gp
        self.update("D", loss)
        # -w_loss is the critic's estimate of the Wasserstein distance (the paper's learning curve).
        return {"loss_d": loss.detach(), "wdist": -w_loss.detach(), "gp": gp.detach()}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        with self.frozen("D"):
            loss = losses.wasserstein_g_loss(self.nets["D"](self.generate(**self.latent(batch.x.shape[0]))))
            self.update("G", loss)
        return {"loss_g": loss.detach()}
