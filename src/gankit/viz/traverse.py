"""Latent-space pictures: interpolations between random latent pairs (DCGAN sec. 6.1, Improved-GAN posts)."""
from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation (White 2016): stays on the shell where Gaussian noise lives. a, b: (N, D); t: (S,)."""
    an, bn = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((an * bn).sum(1).clamp(-1 + 1e-7, 1 - 1e-7))[:, None, None]   # (N, 1, 1)
    t = t[None, :, None]
    so = torch.sin(omega)
    return (torch.sin((1 - t) * omega) / so) * a[:, None] + (torch.sin(t * omega) / so) * b[:, None]


def lerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Straight line from a to b: (N, D), (N, D), (S,) -> (N, S, D)."""
    return a[:, None] + t[None, :, None] * (b - a)[:, None]


def interpolate_latents(start: dict[str, Tensor], end: dict[str, Tensor], steps: int,
                        mode: Literal["linear", "slerp"]) -> dict[str, Tensor]:
    """Every latent input of the pairs walked in `steps` steps; rows = pairs, flattened row-major."""
    t = torch.linspace(0, 1, steps, device=next(iter(start.values())).device)
    out = {}
    for k, a in start.items():
        if not a.is_floating_point():   # discrete inputs (DMWGAN's generator id): each path stays on the start's
            out[k] = a[:, None].expand(-1, steps, *a.shape[1:]).reshape(-1, *a.shape[1:])
            continue
        path = slerp(a, end[k], t) if (mode == "slerp" and k == "z") else lerp(a, end[k], t)
        out[k] = path.reshape(-1, *a.shape[1:])
    return out


def code_traversals(model, steps: int = 10, span: float = 2.0, seed: int = 0) -> dict[str, Tensor]:
    """InfoGAN's pictures (Chen et al. 2016, fig. 2): one row per value of the first categorical code.

    'categories': columns are different noise vectors (shared down each column), continuous codes at 0.
    'continuous_j': one noise vector for the whole picture, columns sweep continuous code j from -span to
    span, the other continuous codes at 0. Returns images in row-major order (rows x steps).
    """
    k = model.opts.categories[0]
    n_cat, n_cont = len(model.opts.categories), model.opts.n_continuous
    g = torch.Generator().manual_seed(seed)
    cat = torch.zeros(k * steps, n_cat, dtype=torch.long)
    cat[:, 0] = torch.arange(k).repeat_interleave(steps)
    pictures = {}
    lat = model.codes_latent(k * steps, cat=cat, cont=torch.zeros(k * steps, n_cont), generator=g)
    lat["z"] = lat["z"][:steps].repeat(k, 1)                      # column c: the same z in every row
    pictures["categories"] = model.sample(**lat)
    z = lat["z"][:1].expand(k * steps, -1)
    sweep = torch.linspace(-span, span, steps).repeat(k)
    for j in range(n_cont):
        cont = torch.zeros(k * steps, n_cont)
        cont[:, j] = sweep
        lat = model.codes_latent(k * steps, cat=cat, cont=cont, generator=g)
        lat["z"] = z
        pictures[f"continuous_{j}"] = model.sample(**lat)
    return pictures
