"""Known translations T between two image domains, for the built-in pairs (data/domains.py).

Images are float (N, C, H, W) in [-1, 1]. Each T has an inverse where one exists (rotation, inversion),
so a translation G_A(u) can be mapped back into u's domain and judged there (label preservation).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

# Sobel kernels (x: left-to-right gradient, y: top-to-bottom); a unit step edge gives magnitude 4.
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
EDGE_SCALE = 4.0   # magnitude of a full black-to-white step; larger values (corners) saturate at white


def rotate90(x: Tensor) -> Tensor:
    """Rotate 90 degrees counter-clockwise; four times is the identity."""
    return torch.rot90(x, 1, dims=(-2, -1))


def rotate270(x: Tensor) -> Tensor:
    """The inverse of rotate90."""
    return torch.rot90(x, -1, dims=(-2, -1))


def invert(x: Tensor) -> Tensor:
    """Photographic negative: v = 1 - u in [0, 1], i.e. -u in [-1, 1]; its own inverse."""
    return -x


def sobel_edges(x: Tensor) -> Tensor:
    """Sobel gradient magnitude of each channel of [0, 1] images, divided by EDGE_SCALE and clipped to
    [0, 1], mapped back to [-1, 1]; replicate padding, so the image border is not an edge. Not invertible."""
    u = (x.float() + 1) / 2
    c = u.shape[1]
    kx = _SOBEL_X.to(u.device).expand(c, 1, 3, 3)
    ky = _SOBEL_X.t().to(u.device).expand(c, 1, 3, 3)
    padded = F.pad(u, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, kx, groups=c), F.conv2d(padded, ky, groups=c)
    magnitude = torch.sqrt(gx * gx + gy * gy) / EDGE_SCALE
    return magnitude.clamp_(0, 1).mul_(2).sub_(1)


Transform = Callable[[Tensor], Tensor]
# name -> (T, T^-1 or None)
TRANSFORMS: dict[str, tuple[Transform, Optional[Transform]]] = {
    "rot90": (rotate90, rotate270),
    "invert": (invert, invert),
    "edges": (sobel_edges, None),
}


def apply_batched(fn: Transform, x: Tensor, batch_size: int = 5000) -> Tensor:
    """`fn` over a large tensor in slices (Sobel's float temporaries stay small)."""
    return torch.cat([fn(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]) if len(x) else x.clone()
