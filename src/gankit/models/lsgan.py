"""LSGAN (Mao et al. 2016): least-squares losses with targets a (fake), b (real) for D and c for G.

Presets (sec. 3.2): `0-1-1` (a=0, b=1, c=1: G wants D to believe fakes are real) and `pearson`
(a=-1, b=1, c=0, for which minimising the loss minimises the Pearson chi-square divergence between
p_data + p_g and 2 p_g, since b - c = 1 and b - a = 2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from torch import Tensor

from .. import losses
from ..options import opt
from ..errors import ConfigError
from ..registry import register
from .objective import ObjectiveModel, ObjectiveOptions

PRESETS = {"0-1-1": (0.0, 1.0, 1.0), "pearson": (-1.0, 1.0, 0.0)}


@dataclass
class LSGANOptions(ObjectiveOptions):
    preset: Literal["0-1-1", "pearson", "custom"] = opt("0-1-1", "targets (a, b, c): a paper preset, or custom")
    a: Optional[float] = opt(None, "D's target for fake data (preset 'custom' only)")
    b: Optional[float] = opt(None, "D's target for real data (preset 'custom' only)")
    c: Optional[float] = opt(None, "the value G wants D to give fake data (preset 'custom' only)")

    def check(self, path: str) -> None:
        super().check(path)
        given = [v is not None for v in (self.a, self.b, self.c)]
        if self.preset == "custom" and not all(given):
            raise ConfigError(f"{path}: preset 'custom' needs all three targets a, b and c.")
        if self.preset != "custom" and any(given):
            raise ConfigError(f"{path}: a, b, c are fixed by preset {self.preset!r}; set preset: custom to "
                              "choose them.")
        if self.preset == "custom" and self.a == self.b:
            raise ConfigError(f"{path}: a = b = {self.a} gives D nothing to tell apart.")

    @property
    def targets(self) -> tuple[float, float, float]:
        return PRESETS[self.preset] if self.preset != "custom" else (self.a, self.b, self.c)


@register("model", "lsgan", LSGANOptions, "LSGAN, Mao et al. 2016")
class LSGAN(ObjectiveModel):
    Options = LSGANOptions

    def d_loss(self, real_out: Tensor, fake_out: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        a, b, _ = self.opts.targets
        return losses.lsgan_d_loss(real_out, fake_out, a, b), {"d_real": real_out.detach().mean(),
                                                               "d_fake": fake_out.detach().mean()}

    def g_loss(self, fake_out: Tensor) -> Tensor:
        return losses.lsgan_g_loss(fake_out, self.opts.targets[2])
