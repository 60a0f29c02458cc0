"""EBGAN (Zhao et al. 2016): the discriminator is an autoencoder whose energy is its reconstruction
error; D pushes the energy of real data down and of fakes up to a margin m (eq. 1); G lowers the energy
of its fakes, plus the pull-away term on the encoder's codes of a fake batch (eq. 2 and 5, EBGAN-PT)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .. import losses
from ..options import opt
from ..errors import ConfigError
from ..nets import build_discriminator, build_generator
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions


@dataclass
class EBGANOptions(ObjectiveOptions):
    margin: float = opt(1.0, "m: D stops pushing up a fake's energy once it exceeds m (per-pixel MSE scale)")
    pt_weight: float = opt(0.1, "weight of the pull-away term in G's loss (paper: 0.1; 0 = plain EBGAN)")
    code_dim: int = opt(64, "size of the autoencoder's code (the encoder output)")

    def check(self, path: str) -> None:
        super().check(path)
        if self.margin <= 0:
            raise ConfigError(f"{path}.margin must be positive, got {self.margin}.")
        if self.pt_weight < 0:
            raise ConfigError(f"{path}.pt_weight must be >= 0, got {self.pt_weight}.")
        if self.code_dim <= 0:
            raise ConfigError(f"{path}.code_dim must be positive, got {self.code_dim}.")
        if self.minibatch_disc:
            raise ConfigError(f"{path}.minibatch_disc does not apply to ebgan: its discriminator is an "
                              "autoencoder whose output is a reconstruction error, with no logit head to "
                              "feed minibatch features into.")


class AutoEncoderD(nn.Module):
    """Encoder (a discriminator net whose head outputs the code) + decoder (a generator net)."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def features(self, x: Tensor) -> Tensor:
        """The code: the encoder's output (used by the pull-away term and feature matching)."""
        return self.encoder(x)

    def energy_and_code(self, x: Tensor) -> tuple[Tensor, Tensor]:
        code = self.encoder(x)
        energy = ((self.decoder(code) - x) ** 2).flatten(1).mean(1)   # per-sample MSE
        return energy, code

    def forward(self, x: Tensor) -> Tensor:
        return self.energy_and_code(x)[0]


@register("model", "ebgan", EBGANOptions, "EBGAN (with pull-away term), Zhao et al. 2016")
class EBGAN(ObjectiveModel):
    Options = EBGANOptions

    def build(self, data) -> None:
        o = self.opts
        self.nets["G"] = build_generator(o.generator, self.g_in_dim(), self.sample_shape, self.data_kind)
        enc = build_discriminator(o.discriminator, self.sample_shape, o.code_dim, self.data_kind)
        dec = build_generator(o.discriminator, o.code_dim, self.sample_shape, self.data_kind)
        self.nets["D"] = AutoEncoderD(enc, dec)
        self.averages, self.average_count = {}, 0

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = losses.ebgan_d_loss(real_out, fake_out, self.opts.margin)
        return loss, {"energy_real": real_out.detach().mean(), "energy_fake": fake_out.detach().mean()}

    def adversarial_g_loss(self, fake: Tensor) -> Tensor:
        energy, code = self.nets["D"].energy_and_code(fake)
        loss = losses.ebgan_g_loss(energy)
        if self.opts.pt_weight:
            loss = loss + self.opts.pt_weight * losses.pullaway_term(code)
        return loss
