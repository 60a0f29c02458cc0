"""f-divergences for f-GAN: Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural Samplers
using Variational Divergence Minimization".

D_f(P||Q) = E_Q[f(p/q)] >= sup_T E_P[T] - E_Q[f*(T)] (eq. 4), tight at T* = f'(p/q). The critic outputs a raw
value V and T = g_f(V) (eq. 5), where the output activation g_f maps R into dom f* (Table 2). In floating point
g_f can round onto the edge of dom f* (e.g. 1 - exp(-40) == 1), so the losses use f*(g_f(v)) in closed form,
finite for any finite v. `conjugate` returns +inf outside dom f* (where the supremum is unbounded).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import ConfigError, did_you_mean

Fn = Callable[[Tensor], Tensor]
LOG2 = math.log(2.0)


@dataclass(frozen=True)
class Divergence:
    """One row of Nowozin et al. Tables 1-2; dom f* is the open interval (-inf, domain_sup)."""
    name: str
    f: Fn                         # generator f(u), u = p/q > 0 (Table 1)
    f_prime: Fn                   # f'(u); the optimal critic is T*(x) = f'(p(x)/q(x)) (Table 1)
    activation: Fn                # g_f(v), maps R into dom f* (Table 2)
    _conjugate: Fn                # f*(t) on its domain (Table 2)
    conjugate_of_activation: Fn   # f*(g_f(v)) in a stable closed form, finite for any finite v
    domain_sup: float = math.inf

    def conjugate(self, t: Tensor) -> Tensor:
        """f*(t); +inf where t is outside dom f*."""
        return torch.where(t < self.domain_sup, self._conjugate(t), torch.full_like(t, math.inf))


DIVERGENCES: dict[str, Divergence] = {d.name: d for d in (
    # Table 1 / Table 2: Kullback-Leibler, f*(t) = exp(t - 1) on R, g_f(v) = v.
    Divergence("kl", lambda u: u * torch.log(u), lambda u: torch.log(u) + 1, lambda v: v,
               lambda t: torch.exp(t - 1), lambda v: torch.exp(v - 1)),
    # Table 1 / Table 2: reverse KL, f*(t) = -1 - log(-t) on t < 0, g_f(v) = -exp(-v); f*(g_f(v)) = v - 1.
    Divergence("reverse-kl", lambda u: -torch.log(u), lambda u: -1 / u, lambda v: -torch.exp(-v),
               lambda t: -1 - torch.log(-t), lambda v: v - 1, 0.0),
    # Table 1 / Table 2: Pearson chi^2, f*(t) = t^2/4 + t on R (f extended to all of R), g_f(v) = v.
    Divergence("pearson", lambda u: (u - 1) ** 2, lambda u: 2 * (u - 1), lambda v: v,
               lambda t: t * t / 4 + t, lambda v: v * v / 4 + v),
    # Table 1 / Table 2: Neyman chi^2, f*(t) = 2 - 2 sqrt(1 - t) on t < 1, g_f(v) = 1 - exp(-v);
    # f*(g_f(v)) = 2 - 2 exp(-v/2).
    Divergence("neyman", lambda u: (1 - u) ** 2 / u, lambda u: 1 - u ** -2, lambda v: -torch.expm1(-v),
               lambda t: 2 - 2 * torch.sqrt(1 - t), lambda v: -2 * torch.expm1(-v / 2), 1.0),
    # Table 1 / Table 2: squared Hellinger, f*(t) = t / (1 - t) on t < 1, g_f(v) = 1 - exp(-v);
    # f*(g_f(v)) = exp(v) - 1.
    Divergence("squared-hellinger", lambda u: (torch.sqrt(u) - 1) ** 2, lambda u: 1 - torch.rsqrt(u),
               lambda v: -torch.expm1(-v), lambda t: t / (1 - t), torch.expm1, 1.0),
    # Table 1 / Table 2: Jensen-Shannon, f*(t) = -log(2 - exp(t)) on t < log 2, g_f(v) = log 2 - log(1 + exp(-v));
    # f*(g_f(v)) = softplus(v) - log 2. With this f, D_f = KL(P||M) + KL(Q||M) = 2 JS(P||Q), M = (P+Q)/2.
    Divergence("jensen-shannon", lambda u: -(u + 1) * torch.log((1 + u) / 2) + u * torch.log(u),
               lambda u: LOG2 + torch.log(u) - torch.log1p(u), lambda v: LOG2 - F.softplus(-v),
               lambda t: -torch.log(2 - torch.exp(t)), lambda v: F.softplus(v) - LOG2, LOG2),
    # Table 1 / Table 2: GAN, f*(t) = -log(1 - exp(t)) on t < 0, g_f(v) = -log(1 + exp(-v)) = log sigmoid(v);
    # f*(g_f(v)) = softplus(v). D_f = 2 JS(P||Q) - log 4.
    Divergence("gan", lambda u: u * torch.log(u) - (u + 1) * torch.log1p(u),
               lambda u: torch.log(u) - torch.log1p(u), lambda v: -F.softplus(-v),
               lambda t: -torch.log(-torch.expm1(t)), F.softplus, 0.0),
)}


def get_divergence(name: str) -> Divergence:
    """The divergence called `name`; ConfigError naming the valid ones otherwise."""
    if name in DIVERGENCES:
        return DIVERGENCES[name]
    hint = did_you_mean(name, DIVERGENCES)
    raise ConfigError(f"Unknown f-divergence {name!r}; valid names are: {', '.join(DIVERGENCES)}.{hint}")


def fgan_d_loss(div: Divergence, real_v: Tensor, fake_v: Tensor) -> Tensor:
    """Nowozin et al. 2016, eq. 6 (critic side): -F = -(E_P[g_f(V(x))] - E_Q[f*(g_f(V(G(z))))])."""
    return div.conjugate_of_activation(fake_v).mean() - div.activation(real_v).mean()


def fgan_g_loss(div: Divergence, fake_v: Tensor, mode: str = "alternative") -> Tensor:
    """Generator side of Nowozin et al. 2016, eq. 6.

    "saturating": minimise F, i.e. -E_Q[f*(g_f(V(G(z))))] (for `gan` this is Goodfellow's minimax loss).
    "alternative" (sec. 3.2): maximise E_Q[g_f(V(G(z)))] (for `gan` this is the non-saturating loss).
    """
    if mode == "saturating":
        return -div.conjugate_of_activation(fake_v).mean()
    if mode == "alternative":
        return -div.activation(fake_v).mean()
    raise ValueError(f"Unknown f-GAN generator mode {mode!r}; expected 'saturating' or 'alternative'.")


def variational_bound(div: Divergence, t_real: Tensor, t_fake: Tensor,
                      real_weights: Tensor | None = None, fake_weights: Tensor | None = None) -> Tensor:
    """Nowozin et al. 2016, eq. 4: E_P[T] - E_Q[f*(T)] for critic values T already in dom f*.

    Expectations are plain means unless probability weights (same shape, summing to 1) are given.
    """
    def expect(x: Tensor, w: Tensor | None) -> Tensor:
        return x.mean() if w is None else (w * x).sum()
    return expect(t_real, real_weights) - expect(div.conjugate(t_fake), fake_weights)
