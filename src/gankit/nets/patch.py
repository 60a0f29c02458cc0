"""The patch critic of pix2pix and DualGAN (Isola et al. 2017, sec. 3.2.2; Yi et al. 2017, sec. 3.2): a
fully convolutional net that scores every receptive-field patch of an image, so it judges local texture
and structure; its output is a (B, 1, h, w) map of scores, and the losses average over it. Strided 4x4
convs down (`layers` of them), then a stride-1 conv and a stride-1 conv to one channel, as the authors'
code. Not a `net` family of the registry (its output is a map, not one score per image).
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..errors import ConfigError
from ..options import Options, opt
from .layers import LEAKY_SLOPE, init_weights
from .unet import ImageNorm, image_norm


@dataclass
class PatchOptions(Options):
    name: str = opt("patch", "the critic: patch (a map of per-patch scores)")
    width: int = opt(32, "channels of the first conv, doubled per layer up to 8x (pix2pix: 64)")
    layers: int = opt(2, "stride-2 convs (each halves the side: more = larger patches)")
    norm: ImageNorm = opt("batch", "normalisation after all but the first conv: batch (DualGAN), instance, none")

    def check(self, path: str) -> None:
        if self.name != "patch":
            raise ConfigError(f"{path}.name must be 'patch' (the only critic of image translation), got {self.name!r}.")
        if not 1 <= self.layers <= 8:
            raise ConfigError(f"{path}.layers must be from 1 to 8, got {self.layers}.")
        if self.width < 1:
            raise ConfigError(f"{path}.width must be positive, got {self.width}.")


class PatchCritic(nn.Module):
    """(B, C, H, W) -> (B, 1, h, w) raw scores (logits or critic values) per patch."""

    def __init__(self, opts: PatchOptions, in_channels: int):
        super().__init__()
        w = opts.width
        chans = [min(w << i, w * 8) for i in range(opts.layers + 1)]
        layers: list[nn.Module] = [nn.Conv2d(in_channels, chans[0], 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE)]
        for i in range(1, opts.layers + 1):
            stride = 2 if i < opts.layers else 1          # the last hidden conv keeps the size
            pad = 1 if stride == 2 else "same"
            k = 4 if stride == 2 else 3
            layers += [nn.Conv2d(chans[i - 1], chans[i], k, stride, pad, bias=opts.norm == "none"),
                       image_norm(opts.norm, chans[i]), nn.LeakyReLU(LEAKY_SLOPE)]
        layers.append(nn.Conv2d(chans[-1], 1, 3, 1, 1))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
