"""GAN (Goodfellow et al. 2014); with `dcgan` networks and the recipe's settings it is DCGAN
(Radford et al. 2015)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from .. import losses
from ..config import opt
from ..registry import register
from .base import Batch, Model, ModelOptions


@dataclass
class GANOptions(ModelOptions):
    g_loss: Literal["non-saturating", "minimax"] = opt(
        "non-saturating", "generator loss: -log D(G(z)) (practical) or log(1 - D(G(z))) (eq. 1)")


@register("model", "gan", GANOptions, "GAN, Goodfellow et al. 2014 (DCGAN with the dcgan networks)")
class GAN(Model):
    Options = GANOptions

    def d_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        D = self.nets["D"]
        with torch.no_grad():
            fake = self.generate(**self.latent(batch.x.shape[0]))
        real_logits, fake_logits = D(batch.x), D(fake)
        loss = losses.gan_d_loss(real_logits, fake_logits)
        self.update("D", loss)
        return {"loss_d": loss.detach(), "d_real": torch.sigmoid(real_logits.detach()).mean(),
                "d_fake": torch.sigmoid(fake_logits.detach()).mean()}

    def g_step(self, batch: Batch) -> dict[str, torch.Tensor]:
        with self.frozen("D"):
            fake_logits = self.nets["D"](self.generate(**self.latent(batch.x.shape[0])))
            if self.opts.g_loss == "minimax":
                loss = losses.gan_g_loss_minimax(fake_logits)
            else:
                loss = losses.gan_g_loss_nonsaturating(fake_logits)
            self.update("G", loss)
        return {"loss_g": loss.detach()}
