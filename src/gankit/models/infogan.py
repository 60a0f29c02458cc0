"""InfoGAN (Chen et al. 2016): latent codes c next to the noise z, and an auxiliary network Q that shares
D's body and predicts c from G(z, c), so that G maximises the variational lower bound L_I(G, Q) of the
mutual information I(c; G(z, c)) (eq. 4-5): min_{G,Q} max_D V(D, G) - lambda L_I(G, Q) (eq. 6).

Categorical codes: L_I term = cross-entropy of Q's logits against the sampled category. Continuous codes
(Uniform(-1, 1)): Gaussian negative log-likelihood with a predicted mean and log-variance (or a fixed unit
variance). Which loss updates what follows the paper and the authors' code (openai/InfoGAN, infogan_trainer.py):
Q is D's body plus its own head, so the information term, computed on the fakes of D's step, trains Q's head
and the shared body together with D's adversarial loss (D's adversarial head never sees it); G's step adds
the same term to G's adversarial loss and moves G only. `info_trains_body: false` keeps the body out of it
(Q's head alone, trained in G's step on frozen features).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..options import opt
from .optim import OptimConfig
from ..errors import ConfigError, GankitError
from ..nets.layers import LEAKY_SLOPE, init_weights
from ..registry import register
from .base import Batch
from .gan import GAN, GANOptions

CODE_TYPES = ("categorical", "continuous")


@dataclass
class InfoGANOptions(GANOptions):
    z_dim: int = opt(62, "size of the incompressible noise z (paper, MNIST: 62)")
    noise: Literal["normal", "uniform"] = opt("uniform", "distribution of z (paper: U(-1, 1))")
    codes: list[dict] = opt([{"type": "categorical", "size": 10}, {"type": "continuous", "size": 2}],
                            "latent codes: each {type: categorical|continuous, size: categories or count}")
    info_weight_cat: float = opt(1.0, "lambda of the categorical information term (paper, MNIST: 1)")
    info_weight_cont: float = opt(1.0, "lambda of the continuous information term (paper, MNIST: 1)")
    info_cont_warmup: int = opt(0, "steps trained with the categorical term only before the continuous term starts")
    cont_variance: Literal["learned", "fixed"] = opt("learned", "Q's Gaussian: predicted log-variance or unit")
    info_trains_body: bool = opt(True, "the information term also trains D's shared body (Q = body + head, as the "
                                 "authors' code); false: Q's head alone on D's frozen features")
    cat_input_scale: float = opt(1.0, "factor on the one-hot codes where they enter G (1: the paper); larger gives the "
                                 "categorical code more of G's input next to the 62 noise variables")
    info_augment: float = opt(0.0, "weight of a second categorical term on randomly rotated/scaled/shifted fakes "
                              "(0: off, the paper). Beyond the paper, after Elastic-InfoGAN (Ojha et al. 2020): "
                              "the code must survive small affine changes, so it cannot mean slant or position")
    augment_rotation: float = opt(15.0, "largest rotation of info_augment, degrees")
    augment_scale: float = opt(0.1, "largest relative zoom of info_augment (0.1: 0.9x to 1.1x)")
    augment_shift: float = opt(0.1, "largest shift of info_augment, as a fraction of the image side")
    q_hidden: int = opt(128, "width of Q's hidden layer on D's features (paper: FC 128, BN, lReLU; its "
                             "LeakyReLU slope is D's leaky_slope)")
    q_init: Literal["torch", "dcgan"] = opt("torch", "Q's initial weights: PyTorch's default, or N(0, 0.02) with "
                                                     "batch-norm scale N(1, 0.02) and zero biases (the authors' code)")
    pixel_range: Literal["signed", "unit"] = opt(
        "signed", "what D and Q see: images in [-1, 1] (the toolkit's), or in [0, 1] with a sigmoid G (the "
                  "authors' code: MNIST as pixel/255, Bernoulli-mean output; zero padding is then background)")
    optim_g: OptimConfig = opt(OptimConfig(lr=1e-3, betas=(0.5, 0.999)), "generator optimizer (paper: 1e-3)")
    optim_d: OptimConfig = opt(OptimConfig(lr=2e-4, betas=(0.5, 0.999)), "discriminator optimizer (paper: 2e-4)")
    optim_q: OptimConfig = opt(OptimConfig(lr=2e-4, betas=(0.5, 0.999)), "Q head optimizer (authors' code: D's)")

    def check(self, path: str) -> None:
        super().check(path)
        if self.feature_matching or self.historical_averaging:
            raise ConfigError(f"{path}: feature_matching and historical_averaging are not implemented for "
                              "infogan (its generator step adds the information term); leave them off.")
        for name in ("info_augment", "augment_rotation", "augment_scale", "augment_shift"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"{path}.{name} must be >= 0, got {getattr(self, name)}.")
        if self.augment_scale >= 1:
            raise ConfigError(f"{path}.augment_scale must be < 1 (a zoom factor 1 +- augment_scale), "
                              f"got {self.augment_scale}.")
        if self.info_augment and not self.categories:
            raise ConfigError(f"{path}.info_augment needs a categorical code (it is a categorical term).")
        if not self.cat_input_scale > 0:
            raise ConfigError(f"{path}.cat_input_scale must be > 0, got {self.cat_input_scale}.")
        if self.info_cont_warmup < 0:
            raise ConfigError(f"{path}.info_cont_warmup must be >= 0 steps, got {self.info_cont_warmup}.")
        if self.pixel_range == "unit" and self.generator.out_activation != "sigmoid":
            raise ConfigError(f"{path}.pixel_range = unit feeds D images in [0, 1], so G must end in a sigmoid: "
                              f"set {path}.generator.out_activation=sigmoid (got "
                              f"{self.generator.out_activation!r}).")
        if not self.codes:
            raise ConfigError(f"{path}.codes is empty: InfoGAN needs at least one code "
                              "(e.g. [{type: categorical, size: 10}]); use the gan model for none.")
        for i, c in enumerate(self.codes):
            where = f"{path}.codes[{i}]"
            if set(c) != {"type", "size"}:
                raise ConfigError(f"{where} must have exactly the keys type and size, got {sorted(c)}.")
            if c["type"] not in CODE_TYPES:
                raise ConfigError(f"{where}.type {c['type']!r} is unknown; code types: {', '.join(CODE_TYPES)}.")
            if isinstance(c["size"], bool) or not isinstance(c["size"], int) or c["size"] <= 0:
                what = "number of categories" if c["type"] == "categorical" else "number of continuous codes"
                raise ConfigError(f"{where}.size must be a positive {what}, got {c['size']!r}.")
            if c["type"] == "categorical" and c["size"] < 2:
                raise ConfigError(f"{where}: a categorical code needs at least 2 categories, got {c['size']}.")

    @property
    def categories(self) -> list[int]:
        return [c["size"] for c in self.codes if c["type"] == "categorical"]

    @property
    def n_continuous(self) -> int:
        return sum(c["size"] for c in self.codes if c["type"] == "continuous")


@register("model", "infogan", InfoGANOptions, "InfoGAN, Chen et al. 2016 (interpretable latent codes)")
class InfoGAN(GAN):
    Options = InfoGANOptions

    def g_in_dim(self) -> int:
        return self.opts.z_dim + sum(self.opts.categories) + self.opts.n_continuous

    def build(self, data) -> None:
        o = self.opts
        if o.info_augment and data.kind != "image":
            raise ConfigError(f"model.info_augment rotates and shifts images; dataset {data.name!r} holds "
                              f"{data.kind}, so set model.info_augment=0.")
        if o.pixel_range == "unit" and data.kind != "image":
            raise ConfigError(f"model.pixel_range = unit is for images; dataset {data.name!r} holds {data.kind}.")
        super().build(data)
        D = self.nets["D"]
        if o.pixel_range == "unit":
            # G's sigmoid output is mapped to the toolkit's [-1, 1] (samples, metrics), and D maps every input
            # back to [0, 1] first: D and Q then see what the authors' code feeds them, G's [0, 1] images.
            self.nets["G"] = nn.Sequential(self.nets["G"], Affine(2.0, -1.0))
            D.body = nn.Sequential(Affine(0.5, 0.5), *D.body)
        out = sum(o.categories) + o.n_continuous * (2 if o.cont_variance == "learned" else 1)
        # Chen et al. 2016, appendix C.1: Q = FC 128 - BN - lReLU - FC output, on D's shared body.
        slope = getattr(o.discriminator, "leaky_slope", LEAKY_SLOPE)
        Q = nn.Sequential(nn.Linear(D.feature_dim, o.q_hidden), nn.BatchNorm1d(o.q_hidden),
                          nn.LeakyReLU(slope), nn.Linear(o.q_hidden, out))
        self.nets["Q"] = init_weights(Q, "dcgan") if o.q_init == "dcgan" else Q

    def build_optimizers(self) -> None:
        super().build_optimizers()
        self.add_optimizer("Q", self.opts.optim_q, self.nets["Q"].parameters(), self.g_horizon)

    # ------------------------------------------------------------------ codes
    def latent(self, n: int, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        out = super().latent(n, generator)
        cats = [torch.randint(k, (n,), generator=generator) for k in self.opts.categories]
        out["c_cat"] = self.encode_categories(torch.stack(cats, 1) if cats else torch.zeros(n, 0, dtype=torch.long))
        out["c_cont"] = (torch.rand(n, self.opts.n_continuous, generator=generator) * 2 - 1).to(self.device)
        return out

    def encode_categories(self, idx: Tensor) -> Tensor:
        """(n, n_categorical) category indices -> concatenated one-hot vectors."""
        parts = [F.one_hot(idx[:, j].long(), k).float() for j, k in enumerate(self.opts.categories)]
        return (torch.cat(parts, 1) if parts else torch.zeros(idx.shape[0], 0)).to(self.device)

    def codes_latent(self, n: int, cat: Tensor | None = None, cont: Tensor | None = None,
                     generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Latent inputs with chosen codes: `cat` (n, n_categorical) indices, `cont` (n, n_continuous)."""
        o = self.opts
        lat = self.latent(n, generator)
        if cat is not None:
            cat = torch.as_tensor(cat)
            if cat.dim() == 1 and len(o.categories) == 1:
                cat = cat[:, None]
            if tuple(cat.shape) != (n, len(o.categories)):
                raise GankitError(f"categorical codes must have shape ({n}, {len(o.categories)}) for the code "
                                  f"specification {o.codes}, got {tuple(cat.shape)}.")
            for j, k in enumerate(o.categories):
                if cat[:, j].min() < 0 or cat[:, j].max() >= k:
                    raise GankitError(f"categorical code {j} takes values 0..{k - 1}, got {cat[:, j].tolist()}.")
            lat["c_cat"] = self.encode_categories(cat)
        if cont is not None:
            cont = torch.as_tensor(cont, dtype=torch.float32)
            if tuple(cont.shape) != (n, o.n_continuous):
                raise GankitError(f"continuous codes must have shape ({n}, {o.n_continuous}) for the code "
                                  f"specification {o.codes}, got {tuple(cont.shape)}.")
            lat["c_cont"] = cont.to(self.device)
        return lat

    def generate(self, z: Tensor, c_cat: Tensor, c_cont: Tensor) -> Tensor:
        return self.nets["G"](torch.cat([z, self.opts.cat_input_scale * c_cat, c_cont], 1))

    # ------------------------------------------------------------------ information term
    def q_outputs(self, x: Tensor, features: Tensor | None = None) -> tuple[list[Tensor], Tensor, Tensor | None]:
        """Q's categorical logits (one tensor per code), continuous means and log-variances."""
        h = self.nets["Q"](self.nets["D"].features(x) if features is None else features)
        logits, i = [], 0
        for k in self.opts.categories:
            logits.append(h[:, i:i + k])
            i += k
        m = self.opts.n_continuous
        mean = h[:, i:i + m]
        logvar = h[:, i + m:i + 2 * m] if self.opts.cont_variance == "learned" else None
        return logits, mean, logvar

    def info_loss(self, x: Tensor | None, c_cat: Tensor, c_cont: Tensor,
                  features: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """-L_I split into (categorical, continuous) parts (Chen et al. 2016, eq. 4-5, up to H(c))."""
        logits, mean, logvar = self.q_outputs(x, features)
        device = logits[0].device if logits else mean.device
        cat_loss = categorical_nll(logits, c_cat, self.opts.categories) if logits else torch.zeros((), device=device)
        cont_loss = torch.zeros((), device=device)
        if self.opts.n_continuous:
            cont_loss = gaussian_nll(c_cont, mean, logvar).sum(1).mean()
        return cat_loss, cont_loss

    def weighted_info(self, cat_loss: Tensor, cont_loss: Tensor) -> Tensor:
        """lambda L_I of eq. 6, with a weight per code type (the continuous one 0 during the warm-up)."""
        w_cont = self.opts.info_weight_cont if self.current_step >= self.opts.info_cont_warmup else 0.0
        return self.opts.info_weight_cat * cat_loss + w_cont * cont_loss

    def augmented_cat_loss(self, fake: Tensor, c_cat: Tensor) -> Tensor:
        """Categorical part of -L_I on affinely jittered fakes (the info_augment term; beyond the paper)."""
        o = self.opts
        moved = random_affine(fake, o.augment_rotation, o.augment_scale, o.augment_shift)
        return categorical_nll(self.q_outputs(moved)[0], c_cat, o.categories)

    current_step = 0   # the trainer's step, for the warm-up

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        self.current_step = step
        return super().train_step(batch, step)

    @property
    def d_step_nets(self) -> tuple[str, ...]:
        return ("D", "Q") if self.opts.info_trains_body else ("D",)

    def d_fake_pass(self, fake: Tensor, latent: dict[str, Tensor]) -> tuple[Tensor, Tensor | float, dict]:
        if not self.opts.info_trains_body:
            return super().d_fake_pass(fake, latent)
        # Authors' code: D's loss includes -lambda L_I on the same fakes, so Q (shared body + head) learns in
        # D's step; one pass through the body serves both heads.
        D = self.nets["D"]
        f = D.features(fake)
        cat_loss, cont_loss = self.info_loss(None, latent["c_cat"], latent["c_cont"], features=f)
        extra, logs = self.weighted_info(cat_loss, cont_loss), {"info_cat_d": cat_loss.detach(),
                                                                "info_cont_d": cont_loss.detach()}
        if self.opts.info_augment:
            aug = self.augmented_cat_loss(fake, latent["c_cat"])
            extra, logs["info_aug_d"] = extra + self.opts.info_augment * aug, aug.detach()
        return D.head(f), extra, logs

    def g_step(self, batch: Batch) -> dict[str, Tensor]:
        D = self.nets["D"]
        lat = self.latent(batch.x.shape[0])
        trains_q = not self.opts.info_trains_body   # else Q learned in D's step; G's step moves G only
        with self.frozen(*(("D",) if trains_q else ("D", "Q"))):
            fake = self.generate(**lat)
            f = D.features(fake)
            adv = self.g_loss(D.head(f))
            cat_loss, cont_loss = self.info_loss(None, lat["c_cat"], lat["c_cont"], features=f)
            loss = adv + self.weighted_info(cat_loss, cont_loss)
            logs = {"loss_g": adv.detach(), "info_cat": cat_loss.detach(), "info_cont": cont_loss.detach()}
            if self.opts.info_augment:
                aug = self.augmented_cat_loss(fake, lat["c_cat"])
                loss, logs["info_aug"] = loss + self.opts.info_augment * aug, aug.detach()
            self.update_together(("G", "Q") if trains_q else ("G",), loss)
        return logs

    def extra_metrics(self, data, extractor=None) -> dict[str, float]:
        from ..metrics.infogan import infogan_metrics

        return infogan_metrics(self, data, extractor)


class Affine(nn.Module):
    """x -> scale * x + shift (pixel_range: unit)."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.shift


def categorical_nll(logits: list[Tensor], c_cat: Tensor, categories: list[int]) -> Tensor:
    """Sum over categorical codes of the cross-entropy of Q's logits against the one-hot codes drawn."""
    loss, i = logits[0].new_zeros(()), 0
    for lg, k in zip(logits, categories):
        loss = loss + F.cross_entropy(lg, c_cat[:, i:i + k].argmax(1))
        i += k
    return loss


def random_affine(x: Tensor, rotation: float, scale: float, shift: float) -> Tensor:
    """Each image rotated by up to +-`rotation` degrees, zoomed by 1 +- `scale` and shifted by up to `shift` of
    its side, uniformly at random; border pixels fill the uncovered area. Differentiable in x."""
    n = x.shape[0]
    u = lambda: torch.rand(n, device=x.device) * 2 - 1   # noqa: E731
    angle = u() * math.radians(rotation)
    zoom = 1 + u() * scale
    tx, ty = 2 * shift * u(), 2 * shift * u()            # affine_grid's coordinates span [-1, 1]
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1).to(x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def gaussian_nll(x: Tensor, mean: Tensor, logvar: Tensor | None) -> Tensor:
    """-log N(x; mean, exp(logvar)) elementwise (unit variance when logvar is None)."""
    if logvar is None:
        return 0.5 * (x - mean) ** 2 + 0.5 * math.log(2 * math.pi)
    return 0.5 * ((x - mean) ** 2 * torch.exp(-logvar) + logvar + math.log(2 * math.pi))
