"""U-Net image-to-image generator (Ronneberger et al. 2015) in the pix2pix form that DualGAN uses
(Isola et al. 2017, sec. 3.2.1 and appendix 6.1.1; Yi et al. 2017, sec. 3.2): strided 4x4 convs down,
transposed 4x4 convs up, each decoder stage concatenated with the encoder stage of the same size; dropout
(p = 0.5) on the innermost decoder stages is the generator's only noise source, as in both papers.

Sizes need not be powers of two: a decoder stage whose output misses its skip connection's size by the
rounding of a stride-2 conv (28 -> 14 -> 7 -> 3 -> 6) is resized to it (nearest), and so is the output.
Options beyond pix2pix: `skips: false` (a plain encoder-decoder: nothing carries the input's layout straight
to the output) and `bottleneck: dense` (a fully connected layer across the innermost code, so every output
pixel can depend on every input pixel whatever the depth; through conv stages alone its reach grows with the
depth). Both were tried for rotation pairs (benchmarks/RESULTS.md). `warp: rotation | affine` puts a spatial
transformer in front (nets/warp.py): a global turn or affine map of the input, predicted per image.
Not a `net` family of the registry: it maps images to images, not noise to images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Options, opt
from .layers import LEAKY_SLOPE, init_weights
from .warp import Warp, WarpKind

ImageNorm = Literal["batch", "instance", "none"]
MAX_DENSE_WEIGHTS = 1 << 26   # 67M weights (256 MB in float32): a dense code beyond this is a config mistake


def image_norm(kind: str, c: int) -> nn.Module:
    """batch (pix2pix, DualGAN), instance (CycleGAN) or none."""
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "instance":
        return nn.InstanceNorm2d(c, affine=True)
    return nn.Identity()


@dataclass
class UNetOptions(Options):
    name: str = opt("unet", "the image-to-image generator: unet")
    width: int = opt(32, "channels of the first encoder stage, doubled per stage up to 8x (pix2pix: 64)")
    depth: int = opt(3, "encoder stages (each halves the side; pix2pix at 256x256: 8)")
    norm: ImageNorm = opt("batch", "normalisation of the hidden stages: batch (DualGAN), instance, none")
    dropout: float = opt(0.5, "dropout probability of the innermost decoder stages (the noise z; 0 = none)")
    dropout_stages: int = opt(2, "how many innermost decoder stages have dropout (pix2pix: 3 of 8)")
    skips: bool = opt(True, "the U-Net's skip connections; false = a plain encoder-decoder (no path copies the "
                            "input's layout to the output)")
    bottleneck: Literal["conv", "dense"] = opt(
        "conv", "the innermost code: conv (pix2pix) or dense (a fully connected layer across the whole code, so "
                "every output pixel can depend on every input pixel, which a rotation needs)")
    warp: WarpKind = opt(
        "none", "a spatial transformer before the U-Net (Jaderberg et al. 2015): the input turned (rotation) or "
                "mapped (affine) by a transform a small net predicts per image, starting at the identity")

    def check(self, path: str) -> None:
        if self.name != "unet":
            raise ConfigError(f"{path}.name must be 'unet' (the only image-to-image generator), got {self.name!r}.")
        if not 1 <= self.depth <= 8:
            raise ConfigError(f"{path}.depth must be from 1 to 8 stages, got {self.depth}.")
        if self.width < 1:
            raise ConfigError(f"{path}.width must be positive, got {self.width}.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"{path}.dropout must be in [0, 1), got {self.dropout}.")
        if self.dropout_stages < 0:
            raise ConfigError(f"{path}.dropout_stages must be >= 0, got {self.dropout_stages}.")


def check_depth(opts: UNetOptions, shape: tuple[int, ...], path: str) -> None:
    side = min(shape[-2:])
    if side >> opts.depth < 1:
        raise ConfigError(f"{path}.depth = {opts.depth} halves {side}x{side} images below one pixel; use at most "
                          f"{side.bit_length() - 1} stages.")


class UNet(nn.Module):
    """(B, C_in, H, W) in [-1, 1] -> (B, C_out, H, W) in [-1, 1] (tanh). `image_size` (H, W) is needed by
    the dense bottleneck only."""

    def __init__(self, opts: UNetOptions, in_channels: int, out_channels: int,
                 image_size: tuple[int, int] | None = None):
        super().__init__()
        w, d = opts.width, opts.depth
        if image_size is None and (opts.bottleneck == "dense" or opts.warp != "none"):
            raise ConfigError("a U-Net with a dense bottleneck or a warp needs the image size")
        chans = [min(w << i, w * 8) for i in range(d)]
        self.down = nn.ModuleList()
        for i, c in enumerate(chans):
            cin = in_channels if i == 0 else chans[i - 1]
            layers = [] if i == 0 else [nn.LeakyReLU(LEAKY_SLOPE)]
            layers += [nn.Conv2d(cin, c, 4, 2, 1, bias=opts.norm == "none" or i == 0)]
            layers += [] if i == 0 else [image_norm(opts.norm, c)]
            self.down.append(nn.Sequential(*layers))
        self.skips = opts.skips
        self.dense = None
        if opts.bottleneck == "dense":
            h, w_ = (s >> d for s in image_size)            # each stride-2 4x4 conv (padding 1) floors s / 2
            self.code_shape = (chans[-1], h, w_)
            n = chans[-1] * h * w_
            if n * n > MAX_DENSE_WEIGHTS:
                raise ConfigError(
                    f"model.generator.bottleneck = dense: a {image_size[0]}x{image_size[1]} image after {d} stages "
                    f"leaves a {chans[-1]}x{h}x{w_} code, and a dense layer across it would hold {n * n:,} weights "
                    f"(at most {MAX_DENSE_WEIGHTS:,}). Use more stages (model.generator.depth) or a smaller width.")
            self.dense = nn.Sequential(nn.Flatten(), nn.LeakyReLU(LEAKY_SLOPE), nn.Linear(n, n))
        self.up = nn.ModuleList()
        for j, i in enumerate(reversed(range(d))):           # stage i's output joins encoder stage i - 1
            cin = chans[i] if i == d - 1 or not opts.skips else 2 * chans[i]
            if i == 0:
                self.up.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(cin, out_channels, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ReLU(), nn.ConvTranspose2d(cin, chans[i - 1], 4, 2, 1, bias=opts.norm == "none"),
                      image_norm(opts.norm, chans[i - 1])]
            if j < opts.dropout_stages and opts.dropout > 0:
                layers.append(nn.Dropout(opts.dropout))
            self.up.append(nn.Sequential(*layers))
        init_weights(self)
        # After init_weights: the localisation net keeps PyTorch's default scale (with N(0, 0.02) its features are
        # ~0.02 and Adam would need ~5,000 steps to turn a digit by 90 degrees) and starts at the identity.
        self.warp = Warp(opts.warp, in_channels, image_size) if opts.warp != "none" else None

    def forward(self, x: Tensor) -> Tensor:
        if self.warp is not None:
            x = self.warp(x)
        skips = []
        h = x
        for stage in self.down:
            h = stage(h)
            skips.append(h)
        skips.pop()   # the innermost stage is the decoder's input, not a skip
        if self.dense is not None:
            h = self.dense(h).view(-1, *self.code_shape)
        for stage in self.up:
            h = stage(h)
            skip = skips.pop() if skips else None
            target = (skip if skip is not None else x).shape[-2:]
            if h.shape[-2:] != target:
                h = F.interpolate(h, size=tuple(target), mode="nearest")
            if skip is not None and self.skips:
                h = torch.cat([h, skip], 1)
        return h
