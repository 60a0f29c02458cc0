"""DMWGAN and DMWGAN-PL (Khayatkhoei, Singh & Elgammal 2018, "Disconnected Manifold Learning for GANs").

One continuous generator cannot map a connected latent space onto data whose support is a union of
disjoint manifolds without dropping modes or putting samples between them. So: k independent generators
G_c, c ~ r(c); a WGAN-GP critic D; an encoder Q(c | x) on D's last hidden layer trained to tell which
generator made a sample, its cross-entropy added to the generators' loss (a variational lower bound on
the mutual information I(c; x), sec. 3.1); and, in DMWGAN-PL, a learned prior r(c; zeta) = softmax(zeta)
fitted to the average of Q(c | x) on real data, with an entropy bonus that decays so that surplus
generators fade out only after training settles (sec. 3.3).

Details follow the authors' release (mahyarkoy/dmgan_release, tf_dmgan.py):
- critic: mean D(G(z)) - mean D(x) + 10 * gradient penalty at real/fake interpolates, one-sided
  (max(0, ||grad|| - 1)^2) by default; 5 critic steps per generator step;
- generators: -mean D(G(z)) + lambda * CE(c, Q(G(z))), lambda = 1; Q: FC 128 - BN - lReLU - FC k on D's
  features, trained on generated samples only, never moving D's body;
- prior: loss = -mean_{x, c} Q(c | x) log r(c) - 1000 * 0.999^t * H(r), Adam 1e-3 (betas 0.5, 0.5), one
  update per generator step (t counts them); Q's output on real data is a constant there;
- generator ids of every batch are drawn i.i.d. from the prior; Adam 2e-4 (betas 0.5, 0.5) for G and D,
  2e-4 (0.9, 0.999) for Q; z ~ U(-1, 1) of size 100; each toy generator 4x narrower than the single one.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, fields
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import losses
from ..options import Options, opt
from .optim import OptimConfig
from ..errors import ConfigError, GankitError
from ..nets import Discriminator, build_discriminator, build_generator
from ..registry import register
from .base import Batch, Model, ModelOptions

PRIORS = ("uniform", "learned")
_ADAM_55 = OptimConfig(lr=2e-4, betas=(0.5, 0.5))


@dataclass
class DMWGANOptions(ModelOptions):
    n_generators: int = opt(10, "k, the number of generators")
    prior: str = opt("uniform", "prior over generators: uniform (DMWGAN) or learned (DMWGAN-PL)")
    g_width_factor: float = opt(0.25, "each generator's hidden widths as a fraction of `generator`'s "
                                      "(release toy: 32/16 units against the single generator's 128/64)")
    info_weight: float = opt(1.0, "lambda of the mutual-information term in the generators' loss")
    penalty_weight: float = opt(10.0, "weight of the gradient penalty")
    one_sided: bool = opt(True, "one-sided penalty max(0, |grad| - 1)^2 (release) instead of (|grad| - 1)^2")
    entropy_weight: float = opt(1000.0, "initial weight of the prior's entropy bonus (release: 1000)")
    entropy_decay: float = opt(0.999, "entropy weight multiplied by this at each prior update (release: 0.999)")
    q_hidden: int = opt(128, "width of Q's hidden layer on D's features (release: 128)")
    z_dim: int = opt(100, "size of each generator's noise z (release: 100)")
    noise: Literal["normal", "uniform"] = opt("uniform", "distribution of z (release: U(-1, 1))")
    n_critic: int = opt(5, "critic steps per generator step (release: 5)")
    optim_g: OptimConfig = opt(_ADAM_55, "generators' optimizer (release: Adam 2e-4, betas 0.5, 0.5)")
    optim_d: OptimConfig = opt(_ADAM_55, "critic optimizer (release: Adam 2e-4, betas 0.5, 0.5)")
    optim_q: OptimConfig = opt(OptimConfig(lr=2e-4, betas=(0.9, 0.999)), "Q's optimizer (release: Adam 2e-4)")
    optim_prior: OptimConfig = opt(OptimConfig(lr=1e-3, betas=(0.5, 0.5)), "prior logits' optimizer (release)")

    def check(self, path: str) -> None:
        super().check(path)
        if isinstance(self.n_generators, bool) or not isinstance(self.n_generators, int) or self.n_generators < 1:
            raise ConfigError(f"{path}.n_generators must be at least 1, got {self.n_generators!r}.")
        if self.prior not in PRIORS:
            raise ConfigError(f"{path}.prior {self.prior!r} is unknown: use 'uniform' (DMWGAN) or "
                              "'learned' (DMWGAN-PL).")
        if not 0 < self.g_width_factor <= 1:
            raise ConfigError(f"{path}.g_width_factor must be in (0, 1], got {self.g_width_factor}.")
        for name in ("info_weight", "penalty_weight", "entropy_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{path}.{name} must be >= 0, got {getattr(self, name)}.")
        if not 0 < self.entropy_decay <= 1:
            raise ConfigError(f"{path}.entropy_decay must be in (0, 1], got {self.entropy_decay}.")
        if self.q_hidden <= 0:
            raise ConfigError(f"{path}.q_hidden must be positive, got {self.q_hidden}.")
        if getattr(self.generator, "norm", None) == "batch":
            raise ConfigError(f"{path}.generator.norm = 'batch': a generator may receive one sample of a "
                              "batch (ids are drawn from the prior), and batch statistics of one sample are "
                              "undefined. Use norm: layer or none.")
        if getattr(self.discriminator, "norm", None) == "batch":
            raise ConfigError(f"{path}.discriminator.norm = 'batch' breaks the per-sample gradient penalty "
                              "(Gulrajani et al. 2017, sec. 4). Use norm: layer or none.")


def narrowed(opts: Options, factor: float) -> Options:
    """A copy of net options with every hidden width scaled by `factor` (at least 1 unit)."""
    if factor == 1:
        return opts
    out = copy.deepcopy(opts)
    names = {f.name for f in fields(out)}
    if "hidden" in names:
        out.hidden = [max(1, round(w * factor)) for w in out.hidden]
    for name in ("width", "fc"):
        if name in names and getattr(out, name):
            setattr(out, name, max(1, round(getattr(out, name) * factor)))
    return out


class GeneratorBank(nn.Module):
    """k independent generators; sample i is made by generator c[i]. Only the generators that appear in
    the batch run (on their own samples), so the others get no gradient and no optimizer movement."""

    def __init__(self, generators: list[nn.Module]):
        super().__init__()
        self.generators = nn.ModuleList(generators)

    def forward(self, z: Tensor, c: Tensor) -> Tensor:
        outs, order = [], []
        for i in torch.unique(c).tolist():
            idx = (c == i).nonzero(as_tuple=True)[0]
            outs.append(self.generators[i](z[idx]))
            order.append(idx)
        out = torch.cat(outs)
        inverse = torch.empty_like(c)
        inverse[torch.cat(order)] = torch.arange(len(c), device=c.device)
        return out[inverse]


class PriorLogits(nn.Module):
    def __init__(self, k: int):
        super().__init__()
        self.zeta = nn.Parameter(torch.zeros(k))   # release: uniform at the start

    def probs(self) -> Tensor:
        return F.softmax(self.zeta, 0)


def prior_loss(zeta: Tensor, q_real: Tensor, entropy_weight: float) -> Tensor:
    """Khayatkhoei et al. 2018 sec. 3.3 (release form): -mean_{x, c} Q(c|x) log r(c) - w H(r), r = softmax(zeta).
    The mean runs over the batch and the k classes as in the release (a 1/k factor on the fit term)."""
    log_r = F.log_softmax(zeta, 0)
    entropy = -(log_r.exp() * log_r).sum()
    return -(q_real * log_r).mean() - entropy_weight * entropy


@register("model", "dmwgan", DMWGANOptions,
          "DMWGAN / DMWGAN-PL, Khayatkhoei et al. 2018 (k generators, learned prior)")
class DMWGAN(Model):
    Options = DMWGANOptions
    ddp_find_unused = ("G",)      # a generator that draws no sample of a rank's batch gets no gradient
    ddp_manual = ("prior",)       # its logits are read directly, never through forward()

    def build(self, data) -> None:
        o = self.opts
        g_opts = narrowed(o.generator, o.g_width_factor)
        torch_gens = [build_generator(g_opts, o.z_dim, self.sample_shape, self.data_kind)
                      for _ in range(o.n_generators)]
        self.nets["G"] = GeneratorBank(torch_gens)
        D = build_discriminator(o.discriminator, self.sample_shape, 1, self.data_kind)
        if not isinstance(D, Discriminator):
            raise ConfigError("dmwgan's encoder Q sits on the critic's last hidden layer; this "
                              f"discriminator ({type(D).__name__}) does not expose it.")
        self.nets["D"] = D
        self.nets["Q"] = nn.Sequential(nn.Linear(D.feature_dim, o.q_hidden), nn.BatchNorm1d(o.q_hidden),
                                       nn.LeakyReLU(0.2), nn.Linear(o.q_hidden, o.n_generators))
        self.nets["prior"] = PriorLogits(o.n_generators)
        self.prior_updates = 0

    def build_optimizers(self) -> None:
        super().build_optimizers()
        o = self.opts
        self.add_optimizer("Q", o.optim_q, self.nets["Q"].parameters(), self.g_horizon)
        if o.prior == "learned":
            self.add_optimizer("prior", o.optim_prior, self.nets["prior"].parameters(), self.g_horizon)

    # ------------------------------------------------------------------ latent and sampling
    def prior_probs(self) -> Tensor:
        return self.nets["prior"].probs().detach()

    def latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        z = super().latent(n, generator)["z"]
        c = torch.multinomial(self.prior_probs().cpu(), n, replacement=True, generator=generator)
        return {"z": z, "c": c.to(self.device)}

    def generate(self, z: Tensor, c: Tensor | None = None, **codes: Tensor) -> Tensor:
        if c is None:
            raise GankitError("dmwgan needs generator ids c next to z.")
        return self.nets["G"](z, c)

    def sample(self, n: int | None = None, generator=None, batch_size: int = 1000, **latent: Tensor) -> Tensor:
        """Samples from the mixture, or from one generator with `generator=i` (an int); a torch.Generator
        as `generator` (or `rng=`) seeds the draw as for every model."""
        rng = latent.pop("rng", None)
        if isinstance(generator, torch.Generator):
            rng, generator = generator, None
        if generator is not None:
            k = self.opts.n_generators
            if isinstance(generator, bool) or not isinstance(generator, int) or not 0 <= generator < k:
                raise GankitError(f"generator must be an integer in [0, {k - 1}] (this run has {k} "
                                  f"generators), got {generator!r}.")
            if n is None:
                raise GankitError("sample(generator=i) needs n.")
            z = super().latent(n, rng)["z"]
            latent = {"z": z, "c": torch.full((n,), generator, dtype=torch.long, device=self.device)}
        return super().sample(n, rng, batch_size, **latent)

    # ------------------------------------------------------------------ training
    def d_step(self, batch: Batch) -> dict[str, Tensor]:
        o, D = self.opts, self.nets["D"]
        x = batch.x
        with torch.no_grad():
            fake = self.generate(**self.latent(x.shape[0]))
        loss = losses.wasserstein_d_loss(D(x), D(fake))
        gp = losses.gradient_penalty(D, losses.interpolate(x, fake), one_sided=o.one_sided,
                                     scale=self.loss_scale(("D",)))
        self.update("D", loss + o.penalty_weight * gp)
        return {"loss_d": loss.detach(), "wdist": -loss.detach(), "gp": gp.detach()}

    def g_step(self, batch: Batch) -> dict[str, Tensor]:
        o, D, Q = self.opts, self.nets["D"], self.nets["Q"]
        out: dict[str, Tensor] = {}
        if o.prior == "learned":   # uses Q before this step's update, as the release's single session run
            with torch.no_grad():
                q_real = F.softmax(Q(D.features(batch.x)), 1)
        lat = self.latent(batch.x.shape[0])
        with self.frozen("D"):
            fake = self.generate(**lat)
            h = D.features(fake)
            adv = losses.wasserstein_g_loss(D.head(h))
            info = F.cross_entropy(Q(h), lat["c"])
            # One backward pass: G gets -D + lambda CE (through the frozen critic and Q's current weights);
            # Q gets lambda * dCE/dQ, its cross-entropy loss up to the constant lambda (Adam is scale-free).
            self.update_together(("G", "Q"), adv + o.info_weight * info)
        out.update(loss_g=adv.detach(), info_ce=info.detach())
        if o.prior == "learned":
            w = o.entropy_weight * o.entropy_decay ** self.prior_updates
            self.update("prior", prior_loss(self.nets["prior"].zeta, q_real, w))
            self.prior_updates += 1
        probs = self.prior_probs()
        for i in range(o.n_generators):
            out[f"prior_{i}"] = probs[i]
        return out

    # ------------------------------------------------------------------ state
    def extra_state(self) -> dict:
        return {"prior_updates": self.prior_updates}

    def load_extra_state(self, state: dict) -> None:
        if state:
            self.prior_updates = int(state["prior_updates"])

    # ------------------------------------------------------------------ paper's reporting
    @torch.no_grad()
    def per_generator(self, n: int, rng: torch.Generator | None = None) -> list[Tensor]:
        """n samples of each generator (for the rows picture and per-generator statistics)."""
        return [self.sample(n, generator=i, rng=rng) for i in range(self.opts.n_generators)]

    def extra_metrics(self, data, extractor=None) -> dict[str, float]:
        """Prior statistics; on `lines`, the prior mass of the generators serving each segment (a generator
        serves the segment most of its on-manifold samples fall on); on digits+fashion, the prior mass of
        the generators making mostly digits, garments or in-between images."""
        probs = self.prior_probs().cpu()
        entropy = float(-(probs * probs.clamp_min(1e-12).log()).sum())
        out = {"generators_above_1pct": float((probs > 0.01).sum()), "prior_entropy": entropy}
        rng = torch.Generator().manual_seed(0)
        if data.kind == "points" and "segments" in data.info:
            from ..metrics.modes import lines_metrics

            per = self.per_generator(1000, rng)
            segs, weights = data.info["segments"], data.info.get("weights")
            k = len(segs)
            serving = torch.zeros(k)
            for p, pts in zip(probs, per):
                m = lines_metrics(pts.cpu(), segs, weights, std=float(data.info.get("std", 0.0)))
                if sum(m["mass"]) > 0:
                    serving[int(torch.tensor(m["mass"]).argmax())] += p
            true = torch.ones(k) if weights is None else torch.as_tensor(weights, dtype=torch.float32)
            out["heavy_segment_mass"] = float(serving[int(true.argmax())])
            out.update({f"segment{j}_mass": float(serving[j]) for j in range(k)})
        elif data.name == "digits+fashion":
            from ..metrics.domains import DomainClassifier

            dc = DomainClassifier()
            mass = torch.zeros(3)
            for p, x in zip(probs, self.per_generator(200, rng)):
                mass[torch.bincount(dc.assign(x.cpu()), minlength=3).argmax()] += p
            out.update(gens_digits_mass=float(mass[0]), gens_fashion_mass=float(mass[1]),
                       gens_in_between_mass=float(mass[2]))
        return out

    def figures(self, run_dir, data, log_rows: list[dict] = ()) -> list:
        """generators.png: a row of samples per generator with its prior mass (images), or each
        generator's points in its colour over the real data (2-D); prior.png: the prior over training."""
        from pathlib import Path

        from ..viz.generators import generator_rows, generator_scatter, plot_prior

        run_dir = Path(run_dir)
        rng = torch.Generator().manual_seed(0)
        masses = self.prior_probs().cpu().tolist()
        if self.data_kind == "image":
            paths = [generator_rows(self.per_generator(10, rng), masses, run_dir / "generators.png")]
        else:
            paths = [generator_scatter(self.per_generator(1500, rng), masses, data.train, run_dir / "generators.png")]
        prior = plot_prior(list(log_rows), run_dir / "prior.png")
        return paths + ([prior] if prior else [])
