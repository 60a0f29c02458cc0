"""A spatial transformer in front of an image-to-image generator (Jaderberg et al. 2015, sec. 3): a small
localisation net reads the input and predicts a global transform, applied by resampling the input
(x' = T_theta(x): eq. 1's grid generator and eq. 3's bilinear sampler, torch's affine_grid / grid_sample).

Why: a U-Net's output pixel follows its input pixel, the bias that makes inversion or edge maps easy and a
rotation nearly impossible to express (benchmarks/RESULTS.md, DualGAN on MNIST <-> rotated). In front of it, a
warp makes a global geometric change one parameter away, and the U-Net refines what the warp leaves.
- `rotation`: theta = [[cos a, -sin a H/W, 0], [sin a W/H, cos a, 0]], one angle a per image: a rigid turn about
  the centre in pixels (affine_grid's coordinates run over [-1, 1] on each side, hence the aspect ratio); at
  a = +-90 degrees on a square image it moves pixel centres onto pixel centres, so it is exact;
- `affine`: the six entries of theta (eq. 1), any linear map plus a shift.
The last layer starts at zero, so the warp starts as the identity and the generator as the plain U-Net.
Pixels the warp brings in from outside the image repeat the border (images here have a uniform background).
"""
from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .layers import LEAKY_SLOPE

WarpKind = Literal["none", "rotation", "affine"]   # model.generator.warp
_IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class Warp(nn.Module):
    """(B, C, H, W) -> the same images resampled through a per-image transform predicted from them."""

    def __init__(self, kind: str, in_channels: int, image_size: tuple[int, int], width: int = 16):
        super().__init__()
        if kind not in get_args(WarpKind)[1:]:
            raise ValueError(f"unknown warp {kind!r}")
        self.kind = kind
        h, w = image_size
        self.aspect = h / w
        self.body = nn.Sequential(                     # two stride-2 convs, then a dense read of the whole map
            nn.Conv2d(in_channels, width, 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE), nn.Flatten())
        n = 2 * width * (h // 4) * (w // 4)
        self.head = nn.Sequential(nn.Linear(n, 32), nn.LeakyReLU(LEAKY_SLOPE),
                                  nn.Linear(32, 1 if kind == "rotation" else 6))
        last = self.head[-1]                          # zero weights, identity bias: the warp starts as a no-op
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.zeros(1) if kind == "rotation" else torch.tensor(_IDENTITY))

    def theta(self, x: Tensor) -> Tensor:
        """The (B, 2, 3) transforms for x, in affine_grid's normalised coordinates."""
        out = self.head(self.body(x))
        if self.kind == "affine":
            return out.view(-1, 2, 3)
        a = out[:, 0]
        cos, sin, zero = torch.cos(a), torch.sin(a), torch.zeros_like(a)
        return torch.stack([torch.stack([cos, -sin * self.aspect, zero], 1),
                            torch.stack([sin / self.aspect, cos, zero], 1)], 1)

    def forward(self, x: Tensor) -> Tensor:
        theta = self.theta(x).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
