"""GAN (Goodfellow et al. 2014); with `dcgan` networks and the recipe's settings it is DCGAN
(Radford et al. 2015)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from .. import losses
from ..options import opt
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions


@dataclass
class GANOptions(ObjectiveOptions):
    g_loss: Literal["non-saturating", "minimax"] = opt(
        "non-saturating", "generator loss: -log D(G(z)) (practical) or log(1 - D(G(z))) (eq. 1)")

    smoothable: ClassVar[bool] = True


@register("model", "gan", GANOptions, "GAN, Goodfellow et al. 2014 (DCGAN with the dcgan networks)")
class GAN(ObjectiveModel):
    Options = GANOptions

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = losses.gan_d_loss(real_out, fake_out, real_target=1.0 - self.opts.label_smoothing)
        return loss, {"d_real": torch.sigmoid(real_out.detach()).mean(),
                      "d_fake": torch.sigmoid(fake_out.detach()).mean()}

    def g_loss(self, fake_out: Tensor) -> Tensor:
        if self.opts.g_loss == "minimax":
            return losses.gan_g_loss_minimax(fake_out)
        return losses.gan_g_loss_nonsaturating(fake_out)
