"""DCGAN convolutional generator and discriminator (Radford et al. 2015), for square images.

Geometry: an image side of base * 2^k, with base 4 (the classic DCGAN: 16, 32, 64, 128, ...) or base 7
(the MNIST nets of DCGAN/InfoGAN: 14, 28, 56, ...). G projects z to a (width * 2^(k-1), base, base) map
and k transposed convs (kernel 4, stride 2, padding 1: each exactly doubles the side) halve the channels
up to the image; D mirrors it with strided convs (sec. 3: no pooling, no upsampling layers).

Design choices:
- activation 'auto' (default) gives ReLU in G and LeakyReLU(0.2) in D, as in sec. 3; any explicit
  value is used in whichever net the option section belongs to.
- norm (default batch, sec. 3) applies to hidden layers only: not to G's output layer nor to D's input
  layer, "to avoid sample oscillation and model instability". 'layer' is GroupNorm(1, C) (WGAN-GP's
  critic). 'spectral' puts spectral norm on every conv/linear layer of the net it is set on, head and
  output layer included, and no other normalisation: on D that is SNGAN (Miyato et al. 2018); on G it
  is what SAGAN does (Zhang et al. 2019, sec. 4.1), so it is allowed rather than rejected.
- D's features are its last conv map, flattened (width * 2^(k-1) * base^2 values), and the head is one
  Linear on them: sec. 3, "the last convolution layer is flattened and then fed into a single sigmoid
  output". With `fc` > 0 an extra fully connected layer is added (G: first; D: last, then it is the
  feature layer), as in the MNIST nets of InfoGAN (Chen et al. 2016, table 1).
- weights start from the paper's init (sec. 4): N(0, 0.02), batch-norm scale N(1, 0.02), biases 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import nn

from ..options import opt
from ..errors import ConfigError
from ..registry import register
from .base import Activation, Discriminator, NetOptions, Norm
from .layers import (activation, init_weights, maybe_spectral, needs_bias, norm_1d, norm_2d,
                     output_activation)

DCGANActivation = Literal[("auto", *get_args(Activation))]
MAX_SIDE = 256
SUPPORTED = sorted(b << k for b in (4, 7) for k in range(1, 7) if b << k <= MAX_SIDE)


@dataclass
class DCGANOptions(NetOptions):
    """Options of the `dcgan` family."""

    norm: Norm = opt("batch", "normalization of hidden layers: none, batch, layer or spectral")
    activation: DCGANActivation = opt("auto", "hidden activation; auto = ReLU in G, LeakyReLU(0.2) in D")
    width: int = opt(64, "channels of the full-resolution hidden layer; doubled at each stage toward the base")
    fc: int = opt(0, "width of an extra fully connected layer (G: first, D: last; 0 = none; "
                     "the InfoGAN MNIST nets use 1024)")
    leaky_slope: float = opt(0.2, "slope of LeakyReLU where the net uses it (DCGAN sec. 3: 0.2; the InfoGAN "
                                  "authors' code: 0.01)")
    project_norm: Literal["channel", "unit"] = opt(
        "channel", "G: normalise the projection to the base map per channel after the reshape (DCGAN), or per "
                   "unit before it (the InfoGAN authors' code: batch norm on the FC 7x7x128 layer)")

    def check(self, path: str) -> None:
        super().check(path)
        if not 0 <= self.leaky_slope < 1:
            raise ConfigError(f"{path}.leaky_slope must be in [0, 1), got {self.leaky_slope!r}.")
        if self.width <= 0:
            raise ConfigError(f"{path}.width must be a positive channel count, got {self.width!r}.")
        if self.fc < 0:
            raise ConfigError(f"{path}.fc must be 0 (no extra layer) or a positive width, got {self.fc!r}.")


def _geometry(shape: tuple[int, ...], data_kind: str) -> tuple[int, int, int]:
    """(C, H, W) image shape -> (channels, base side, number of stride-2 stages)."""
    if data_kind != "image" or len(shape) != 3:
        raise ConfigError(f"The dcgan net needs image data of shape (C, H, W), got {data_kind} data of shape "
                          f"{tuple(shape)}. Use the mlp net for points (generator/discriminator name: mlp).")
    c, h, w = shape
    for base in (4, 7):
        stages = (h // base).bit_length() - 1
        if h == w and h in SUPPORTED and h == base << stages:
            return c, base, stages
    raise ConfigError(f"The dcgan net supports square images of side 4*2^k or 7*2^k "
                      f"({', '.join(map(str, SUPPORTED))}); got {h}x{w}. Set data.image_size to one of "
                      f"these (e.g. 28 or 32), or use the mlp net.")


def _act(opts: DCGANOptions, role: str) -> nn.Module:
    default = "relu" if role == "G" else "leaky_relu"
    return activation(default if opts.activation == "auto" else opts.activation, opts.leaky_slope)


def _finish(net: nn.Module, norm: str) -> nn.Module:
    # Init first, then spectral norm, so its power iteration starts from the final weights.
    return maybe_spectral(init_weights(net, "dcgan"), norm)


class DCGANGenerator(nn.Sequential):
    """(B, in_dim) -> Linear -> (width*2^(k-1), b, b) -> k x ConvT(4, 2, 1) -> (B, C, b*2^k, b*2^k)."""

    def __init__(self, opts: DCGANOptions, in_dim: int, out_shape: tuple[int, ...], data_kind: str):
        c, base, k = _geometry(out_shape, data_kind)
        ch = [opts.width << (k - 1 - i) for i in range(k)]  # channels at sides base, 2*base, ...
        bias = needs_bias(opts.norm)
        layers: list[nn.Module] = []
        if opts.fc:   # InfoGAN (Chen et al. 2016, table 1): FC 1024 before the FC to the base map
            layers += [nn.Linear(in_dim, opts.fc, bias=bias), norm_1d(opts.norm, opts.fc), _act(opts, "G")]
            in_dim = opts.fc
        unflatten = nn.Unflatten(1, (ch[0], base, base))
        if opts.project_norm == "unit":   # one scale and shift per unit of the projection (InfoGAN's code)
            layers += [nn.Linear(in_dim, ch[0] * base * base, bias=bias), norm_1d(opts.norm, ch[0] * base * base),
                       _act(opts, "G"), unflatten]
        else:
            layers += [nn.Linear(in_dim, ch[0] * base * base, bias=bias), unflatten, norm_2d(opts.norm, ch[0]),
                       _act(opts, "G")]
        for c_in, c_out in zip(ch, ch[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), norm_2d(opts.norm, c_out),
                       _act(opts, "G")]
        layers += [nn.ConvTranspose2d(ch[-1], c, 4, 2, 1), output_activation(opts.out_activation, data_kind)]
        super().__init__(*layers)
        _finish(self, opts.norm)


class DCGANDiscriminator(Discriminator):
    """(B, C, H, W) -> k x Conv(4, 2, 1) -> flatten = features -> Linear head -> (B, out_dim)."""

    def __init__(self, opts: DCGANOptions, in_shape: tuple[int, ...], out_dim: int, data_kind: str):
        super().__init__()
        c, base, k = _geometry(in_shape, data_kind)
        ch = [opts.width << i for i in range(k)]  # channels at sides H/2, H/4, ..., base
        # First layer: no norm (sec. 3), hence a bias.
        layers: list[nn.Module] = [nn.Conv2d(c, ch[0], 4, 2, 1), _act(opts, "D")]
        for c_in, c_out in zip(ch, ch[1:]):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=needs_bias(opts.norm)), norm_2d(opts.norm, c_out),
                       _act(opts, "D")]
        layers.append(nn.Flatten())
        self.feature_dim = ch[-1] * base * base
        if opts.fc:   # InfoGAN (Chen et al. 2016, table 1): FC 1024 after the convs, shared with Q
            layers += [nn.Linear(self.feature_dim, opts.fc, bias=needs_bias(opts.norm)),
                       norm_1d(opts.norm, opts.fc), _act(opts, "D")]
            self.feature_dim = opts.fc
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(self.feature_dim, out_dim)
        _finish(self, opts.norm)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


@register("net", "dcgan", DCGANOptions)
class DCGAN:
    """DCGAN conv G and D (Radford et al. 2015) for square images of side 4*2^k or 7*2^k."""

    @classmethod
    def generator(cls, opts: DCGANOptions, in_dim: int, out_shape: tuple[int, ...],
                  data_kind: str) -> nn.Module:
        return DCGANGenerator(opts, in_dim, tuple(out_shape), data_kind)

    @classmethod
    def discriminator(cls, opts: DCGANOptions, in_shape: tuple[int, ...], out_dim: int,
                      data_kind: str) -> Discriminator:
        return DCGANDiscriminator(opts, tuple(in_shape), out_dim, data_kind)
