"""Conditional VAE (Sohn et al. 2015): encoder E(x, c) -> q(z | x, c), decoder G(z, c), trained on the
conditional ELBO, eq. 5: a Gaussian reconstruction term and KL(q(z | x, c) || N(0, I)). The baseline of
CVAE-GAN with the same E and G: CVAE-GAN minus D, C and the feature terms, with the plain ELBO's weights (1, 1)
rather than CVAE-GAN's lambdas, which balance the KL against feature terms a CVAE does not have.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from ..errors import ConfigError
from ..losses.conditional import kl_loss, reconstruction_loss
from ..nets import build_discriminator, build_generator
from ..options import Options, component, opt
from ..registry import register
from .base import Batch
from .conditional import ConditionalModel, ConditionalOptions, EncoderMixin
from .optim import OptimConfig

ADAM = OptimConfig(lr=2e-4, betas=(0.5, 0.999))


@dataclass
class CVAEOptions(ConditionalOptions):
    encoder: Options = component("net", Options(name="dcgan"), "encoder network E(x, c) -> (mu, log sigma^2)")
    optim_g: OptimConfig = opt(ADAM, "decoder (G) optimizer")
    optim_e: OptimConfig = opt(ADAM, "encoder optimizer")
    kl_weight: float = opt(1.0, "weight of KL(q(z|x,c) || N(0, I)) (1: the ELBO, eq. 5)")
    rec_weight: float = opt(1.0, "weight of 1/2 ||x - G(z, c)||^2 (1: a unit-variance Gaussian decoder)")

    def check(self, path: str) -> None:
        super().check(path)
        for name in ("kl_weight", "rec_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{path}.{name} must be >= 0, got {getattr(self, name)}.")


@register("model", "cvae", CVAEOptions, "Conditional VAE, Sohn et al. 2015 (the CVAE-GAN baseline; "
                                         "its discriminator option is unused)")
class CVAE(EncoderMixin, ConditionalModel):
    Options = CVAEOptions

    def build_nets(self, data) -> None:
        o, (c, h, w) = self.opts, self.sample_shape
        self.nets["G"] = build_generator(o.generator, self.g_in_dim(), self.sample_shape, data.kind)
        self.nets["E"] = build_discriminator(o.encoder, (c + self.n_classes, h, w), 2 * o.z_dim, data.kind)

    def build_optimizers(self) -> None:
        self.add_optimizer("G", self.opts.optim_g, self.nets["G"].parameters(), self.horizon)
        self.add_optimizer("E", self.opts.optim_e, self.nets["E"].parameters(), self.horizon)

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        o = self.opts
        c = self.onehot(self.batch_labels(batch))
        mu, logvar = self.encode(batch.x, c)
        x_rec = self.generate(self.reparameterize(mu, logvar), c)
        kl, rec = kl_loss(mu, logvar), reconstruction_loss(batch.x, x_rec)
        loss = o.kl_weight * kl + o.rec_weight * rec          # Sohn et al. 2015, eq. 5 (negated, weighted)
        self.update_together(("G", "E"), loss)
        return {"loss_g": loss.detach(), "kl": kl.detach(), "rec": rec.detach()}
