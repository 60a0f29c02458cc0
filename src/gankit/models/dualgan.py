"""DualGAN (Yi, Zhang, Tan & Gong 2017, "DualGAN: Unsupervised Dual Learning for Image-to-Image Translation").

Two unpaired image domains U and V (data: pair). The primal generator G_A: U -> V and the dual G_B: V -> U
are U-Nets whose dropout is the noise z (sec. 3.2); D_A tells real v from G_A(u), D_B real u from G_B(v),
both patch critics. Objectives (`objective`):

- paper (sec. 3.1, Algorithm 1): Wasserstein critics l^d_A = D_A(G_A(u)) - D_A(v), l^d_B likewise (eqs. 1-2),
  weights clipped to [-c, c]; generators l^g = lambda_U ||u - G_B(G_A(u))||_1 + lambda_V ||v - G_A(G_B(v))||_1
  - D_A(G_A(u)) - D_B(G_B(v)) (eq. 3, critics' indices as in eqs. 1-2); RMSProp 5e-5, n_critic critic steps
  per generator step. Defaults: c = 0.01, n_critic = 2, lambda_U = lambda_V = 100, the low end of the
  paper's range of 100 to 1000 (from our reading of its sec. 4; the values were not re-checked against the
  paper's text when this was written, unlike the released code's, which were read from its model.py/main.py).
- released (duxingren14/DualGAN, model.py): sigmoid cross-entropy for the critics and the generators, lambda = 20,
  no clipping, RMSProp(lr 5e-5, decay 0.9); per batch one critic update, then two generator updates.
- cyclegan (Zhu et al. 2017): least-squares adversarial loss (sec. 4), D's loss halved (sec. 7.1), cycle weight
  lambda = 10, Adam 2e-4 (0.5, 0.999), one update of each per batch: the natural baseline.

`reconstruction: false` drops the reconstruction term (the ablation): two independent GANs.
`sample(n)` translates n held-out images of U (V with direction="b2a"); `translate(x, direction)` translates
given images. Networks are in eval mode there, so dropout is off and a translation is deterministic.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Optional

import torch
from torch import Tensor

from .. import losses
from ..errors import ConfigError, GankitError
from ..nets.patch import PatchCritic, PatchOptions
from ..nets.unet import UNet, UNetOptions, check_depth
from ..options import Options, opt
from ..registry import register
from .base import Batch, Model, ModelOptions
from .optim import OptimConfig

_RMSPROP = OptimConfig(name="rmsprop", lr=5e-5)
# objective -> (lambda, clip, n_critic, generator steps per critic step, optimizer)
DEFAULTS = {
    "paper": (100.0, 0.01, 2, 1, _RMSPROP),
    "released": (20.0, 0.0, 1, 2, replace(_RMSPROP, alpha=0.9)),
    "cyclegan": (10.0, 0.0, 1, 1, OptimConfig(name="adam", lr=2e-4, betas=(0.5, 0.999))),
}
DIRECTIONS = ("a2b", "b2a")


@dataclass
class DualGANOptions(ModelOptions):
    objective: Literal["paper", "released", "cyclegan"] = opt(
        "paper", "paper (WGAN critics, clipping), released (the authors' code: cross-entropy, lambda 20, 1 D "
                 "then 2 G steps) or cyclegan (least squares, cycle weight 10)")
    reconstruction: bool = opt(True, "the reconstruction (cycle) term; false = the ablation without it")
    lambda_u: Optional[float] = opt(None, "weight of ||u - G_B(G_A(u))||_1; None = the objective's (100, 20, 10)")
    lambda_v: Optional[float] = opt(None, "weight of ||v - G_A(G_B(v))||_1; None = the objective's")
    clip: Optional[float] = opt(None, "clip the critics' weights to [-c, c]; None = the objective's (paper 0.01, "
                                      "others 0); 0 = off")
    n_critic: Optional[int] = opt(None, "critic steps per generator update; None = the objective's (paper 2, else 1)")
    g_steps: Optional[int] = opt(None, "generator updates each time they are due; None = the objective's "
                                       "(released 2, else 1)")
    optim_g: Optional[OptimConfig] = opt(None, "generators' optimizer; None = the objective's (RMSProp 5e-5, "
                                               "cyclegan Adam 2e-4)")
    optim_d: Optional[OptimConfig] = opt(None, "critics' optimizer; None = the objective's")
    generator: UNetOptions = opt(UNetOptions(), "the U-Net generators G_A and G_B")
    discriminator: PatchOptions = opt(PatchOptions(), "the patch critics D_A and D_B")

    def check(self, path: str) -> None:
        Options.check(self, path)
        for key in ("lambda_u", "lambda_v", "clip"):
            value = getattr(self, key)
            if value is not None and value < 0:
                raise ConfigError(f"{path}.{key} must be >= 0 (or null for the objective's), got {value}.")
        for key in ("n_critic", "g_steps"):
            value = getattr(self, key)
            if value is not None and value < 1:
                raise ConfigError(f"{path}.{key} must be a positive number of steps (or null for the "
                                  f"objective's), got {value}.")
        if self.clip and self.objective != "paper":
            raise ConfigError(f"{path}.clip = {self.clip}: weight clipping keeps a Wasserstein critic Lipschitz; "
                              f"the {self.objective!r} objective's discriminators are classifiers. Use "
                              "objective: paper, or clip: 0.")

    def resolved(self) -> "DualGANOptions":
        """These options with every `None` replaced by the objective's value."""
        lam, clip, n_critic, g_steps, optim = DEFAULTS[self.objective]
        pick = lambda value, default: default if value is None else value   # noqa: E731
        return replace(self, lambda_u=pick(self.lambda_u, lam), lambda_v=pick(self.lambda_v, lam),
                       clip=pick(self.clip, clip), n_critic=pick(self.n_critic, n_critic),
                       g_steps=pick(self.g_steps, g_steps), optim_g=pick(self.optim_g, optim),
                       optim_d=pick(self.optim_d, optim))


@register("model", "dualgan", DualGANOptions, "DualGAN, Yi et al. 2017 (unpaired image-to-image translation)")
class DualGAN(Model):
    Options = DualGANOptions
    two_domains = True   # trains on a `pair` dataset (build_model refuses any other pairing)

    def __init__(self, opts: DualGANOptions, data, device="cpu", horizon=None):
        super().__init__(opts.resolved(), data, device, horizon)

    def build(self, data) -> None:
        if data.kind != "pair":
            raise ConfigError(f"dualgan translates between two image domains; dataset {data.name!r} has one. Use "
                              "data: {name: pair, pair: mnist-invert} or data: {domain_a: {...}, domain_b: {...}} "
                              "(`gankit list` shows the pairs).")
        o = self.opts
        self.domain_shape = tuple(self.sample_shape[1:])
        check_depth(o.generator, self.domain_shape, "model.generator")
        c = self.domain_shape[0]
        for name in ("G_A", "G_B"):
            self.nets[name] = UNet(o.generator, c, c, self.domain_shape[1:])
        for name in ("D_A", "D_B"):
            self.nets[name] = PatchCritic(o.discriminator, c)
        held = data.test if data.test is not None else data.train
        self.pool = {"a2b": held[:, 0], "b2a": held[:, 1]}   # images to translate in sample()

    def build_optimizers(self) -> None:
        o = self.opts
        for name in ("G_A", "G_B"):
            self.add_optimizer(name, o.optim_g, self.nets[name].parameters(), self.g_horizon)
        for name in ("D_A", "D_B"):
            self.add_optimizer(name, o.optim_d, self.nets[name].parameters(), self.horizon)

    @property
    def g_horizon(self) -> int | None:
        return None if self.horizon is None else max(1, self.horizon // self.opts.n_critic * self.opts.g_steps)

    # ------------------------------------------------------------------ losses of each objective
    def critic_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        kind = self.opts.objective
        if kind == "paper":
            return losses.dualgan_critic_loss(real, fake)
        if kind == "released":
            return losses.gan_d_loss(real, fake)
        return losses.lsgan_d_loss(real, fake, a=0.0, b=1.0)   # 1/2 E[(D(x)-1)^2] + 1/2 E[D(G)^2]

    def adversarial_loss(self, fake_a: Tensor, fake_b: Tensor) -> Tensor:
        kind = self.opts.objective
        if kind == "paper":
            return losses.dualgan_adversarial_loss(fake_a, fake_b)
        if kind == "released":
            return losses.gan_g_loss_nonsaturating(fake_a) + losses.gan_g_loss_nonsaturating(fake_b)
        return losses.least_squares_g_loss(fake_a) + losses.least_squares_g_loss(fake_b)

    # ------------------------------------------------------------------ training
    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        u, v = batch.x[:, 0], batch.x[:, 1]
        out = self.d_step(u, v)
        if self.g_step_due(step):
            for _ in range(self.opts.g_steps):
                out.update(self.g_step(u, v))
        return out

    def d_step(self, u: Tensor, v: Tensor) -> dict[str, Tensor]:
        n = self.nets
        with torch.no_grad():
            fake_v, fake_u = n["G_A"](u), n["G_B"](v)
        loss_a = self.critic_loss(n["D_A"](v), n["D_A"](fake_v))
        loss_b = self.critic_loss(n["D_B"](u), n["D_B"](fake_u))
        self.update_together(("D_A", "D_B"), loss_a + loss_b)
        if self.opts.clip:
            with torch.no_grad():
                for name in ("D_A", "D_B"):
                    for p in n[name].parameters():
                        p.clamp_(-self.opts.clip, self.opts.clip)
        logs = {"loss_d": (loss_a + loss_b).detach(), "loss_d_a": loss_a.detach(), "loss_d_b": loss_b.detach()}
        if self.opts.objective == "paper":   # -l^d: the critics' Wasserstein estimates
            logs["wdist"] = -(loss_a + loss_b).detach()
        return logs

    def g_step(self, u: Tensor, v: Tensor) -> dict[str, Tensor]:
        n, o = self.nets, self.opts
        with self.frozen("D_A", "D_B"):
            fake_v, fake_u = n["G_A"](u), n["G_B"](v)
            adv = self.adversarial_loss(n["D_A"](fake_v), n["D_B"](fake_u))
            rec_u, rec_v = n["G_B"](fake_v), n["G_A"](fake_u)
            rec = losses.reconstruction_loss(u, rec_u, v, rec_v, o.lambda_u, o.lambda_v)
            loss = adv + rec if o.reconstruction else adv
            self.update_together(("G_A", "G_B"), loss)
        l1 = 0.5 * ((u - rec_u).abs().mean() + (v - rec_v).abs().mean())
        return {"loss_g": loss.detach(), "loss_adv": adv.detach(), "cycle_l1": l1.detach()}

    # ------------------------------------------------------------------ translation and sampling
    def _net(self, direction: str) -> str:
        if direction not in DIRECTIONS:
            raise GankitError(f"direction must be a2b (G_A: U -> V) or b2a (G_B: V -> U), got {direction!r}.")
        return "G_A" if direction == "a2b" else "G_B"

    @torch.no_grad()
    def translate(self, x: Tensor, direction: str = "a2b", batch_size: int = 500) -> Tensor:
        """Images of one domain -> the other, in eval mode (dropout off), on the CPU."""
        G = self.nets[self._net(direction)]
        was = G.training
        G.eval()
        try:
            parts = [G(x[i:i + batch_size].to(self.device)).float().cpu() for i in range(0, len(x), batch_size)]
            return torch.cat(parts) if parts else x.new_zeros((0, *self.domain_shape))
        finally:
            G.train(was)

    def latent(self, n: int, generator: torch.Generator | None = None, direction: str = "a2b") -> dict[str, Tensor]:
        """n held-out images of the source domain (drawn at random), the input of `sample`."""
        pool = self.pool[direction if direction in DIRECTIONS else self._net(direction)]
        idx = torch.randint(len(pool), (n,), generator=generator)
        return {"x": pool[idx].to(self.device), "direction_b2a": torch.full((n,), direction == "b2a")}

    @torch.no_grad()
    def sample(self, n: int | None = None, generator: torch.Generator | None = None, batch_size: int = 500,
               direction: str = "a2b", **latent: Tensor) -> Tensor:
        """Translations of n random held-out images (a2b: G_A(u); b2a: G_B(v)), or of `x=...`."""
        if not latent:
            if n is None:
                raise ValueError("sample() needs n or x")
            latent = self.latent(n, generator, direction)
        flag = latent.get("direction_b2a")
        if flag is not None and len(flag):
            direction = "b2a" if bool(flag[0]) else "a2b"
        return self.translate(latent["x"], direction, batch_size)

    def extra_metrics(self, data, extractor=None) -> dict[str, float]:
        from ..metrics.translation import translation_metrics

        return translation_metrics(self.translate, data)

    def figures(self, run_dir, data, log_rows=()) -> list:
        from ..viz.translation import translation_grid

        paths = []
        for direction in DIRECTIONS:
            x = self.pool[direction][:8]
            y = self.translate(x, direction)
            back = self.translate(y, "b2a" if direction == "a2b" else "a2b")
            path = run_dir / f"translate_{direction}.png"
            translation_grid(x, y, back, path)
            paths.append(path)
        return paths
