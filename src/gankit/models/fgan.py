"""f-GAN (Nowozin et al. 2016): variational divergence minimisation. D outputs V(x); with the chosen
divergence's output activation g_f and Fenchel conjugate f*, D maximises the bound
F = E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))] (eq. 6) and G minimises it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from .. import losses
from ..options import opt
from ..losses.divergences import DIVERGENCES
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions

DivergenceName = Literal[tuple(DIVERGENCES)]


@dataclass
class FGANOptions(ObjectiveOptions):
    divergence: DivergenceName = opt("kl", "the f-divergence: " + ", ".join(DIVERGENCES) + " (Table 1)")
    g_loss: Literal["alternative", "saturating"] = opt(
        "alternative", "G maximises E_Q[g_f(V)] (sec. 3.2, as non-saturating GAN) or minimises the bound")


@register("model", "fgan", FGANOptions, "f-GAN, Nowozin et al. 2016 (divergence by config)")
class FGAN(ObjectiveModel):
    Options = FGANOptions

    def build(self, data) -> None:
        super().build(data)
        self.divergence = losses.get_divergence(self.opts.divergence)

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        loss = losses.fgan_d_loss(self.divergence, real_out, fake_out)
        # -loss is the variational lower bound of D_f(P || Q_theta): the divergence D currently certifies.
        return loss, {"bound": -loss.detach()}

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return losses.fgan_g_loss(self.divergence, fake_out, self.opts.g_loss)
