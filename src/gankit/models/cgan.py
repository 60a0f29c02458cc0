"""Conditional GAN (Mirza & Osindero 2014): G(z, c) and D(x, c) both see the class; the GAN objective of
Goodfellow et al. 2014 with the non-saturating G loss. The baseline of CVAE-GAN with the same networks.

Fakes take the classes of the real batch they are shown against, so D sees the same class mix on both sides.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from .. import losses
from ..nets import build_discriminator, build_generator
from ..options import opt
from ..registry import register
from .base import Batch
from .conditional import ConditionalModel, ConditionalOptions
from .optim import OptimConfig


@dataclass
class CGANOptions(ConditionalOptions):
    optim_g: OptimConfig = opt(OptimConfig(lr=2e-4, betas=(0.5, 0.999)), "generator optimizer (DCGAN's Adam)")
    optim_d: OptimConfig = opt(OptimConfig(lr=2e-4, betas=(0.5, 0.999)), "discriminator optimizer")


@register("model", "cgan", CGANOptions, "Conditional GAN, Mirza & Osindero 2014 (G and D see the class)")
class CGAN(ConditionalModel):
    Options = CGANOptions

    def build_nets(self, data) -> None:
        o, (c, h, w) = self.opts, self.sample_shape
        self.nets["G"] = build_generator(o.generator, self.g_in_dim(), self.sample_shape, data.kind)
        self.nets["D"] = build_discriminator(o.discriminator, (c + self.n_classes, h, w), 1, data.kind)

    def d_of(self, x: Tensor, c: Tensor) -> Tensor:
        return self.nets["D"](self.with_planes(x, c))

    def d_step(self, batch: Batch) -> dict[str, Tensor]:
        y = self.batch_labels(batch)
        lat = self.class_latent(y, check=False)
        fake = self.generate(**lat).detach()
        real_out, fake_out = self.d_of(batch.x, lat["c"]), self.d_of(fake, lat["c"])
        # Mirza & Osindero 2014, eq. 2: the GAN value function with D(x | y) and G(z | y)
        loss = losses.gan_d_loss(real_out, fake_out)
        self.update("D", loss)
        return {"loss_d": loss.detach(), "d_real": real_out.detach().sigmoid().mean(),
                "d_fake": fake_out.detach().sigmoid().mean()}

    def g_step(self, batch: Batch) -> dict[str, Tensor]:
        lat = self.class_latent(self.batch_labels(batch), check=False)
        with self.frozen("D"):
            loss = losses.gan_g_loss_nonsaturating(self.d_of(self.generate(**lat), lat["c"]))
            self.update("G", loss)
        return {"loss_g": loss.detach()}
