"""Helpers shared by the labelled image datasets (MNIST, Fashion-MNIST) and the folder loader."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F

from ..options import opt
from ..errors import ConfigError
from ..memory import check_fits
from .base import DataOptions, Dataset


@dataclass
class LabelledImageOptions(DataOptions):
    """Options of a 10-class 28x28 image dataset."""

    classes: Optional[list[int]] = opt(None, "keep only these classes (labels stay the original ones)")
    image_size: int = opt(28, "side of the square images; 28 is native, others are resized (e.g. 32, 64)")

    def check(self, path: str) -> None:
        super().check(path)
        check_image_size(self.image_size, path)
        if self.classes is not None:
            bad = [c for c in self.classes if not 0 <= c <= 9]
            if not self.classes or bad or len(set(self.classes)) != len(self.classes):
                raise ConfigError(f"{path}.classes must be a non-empty list of distinct labels 0..9, got "
                                  f"{self.classes!r}. Leave it unset (null) to keep every class.")


MAX_IMAGE_SIZE = 1024


def check_image_size(size: int, path: str) -> None:
    if not 4 <= size <= MAX_IMAGE_SIZE:
        raise ConfigError(f"{path}.image_size must be from 4 to {MAX_IMAGE_SIZE} pixels, got {size}; "
                          "use e.g. 28, 32 or 64.")


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [-1, 1] (0 -> -1, 255 -> 1)."""
    if images.dtype != torch.uint8:   # .to() would then return the input itself, and we work in place
        raise TypeError(f"to_signed takes uint8 images, got {images.dtype}")
    return images.to(torch.float32).div_(127.5).sub_(1.0)   # in place: one float copy, not two


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize (N, C, H, W) float images to size x size (bilinear)."""
    if images.shape[-2:] == (size, size):
        return images
    # Antialiasing keeps downscaled strokes smooth; when upscaling it changes nothing but costs 2.5x.
    shrink = size < max(images.shape[-2:])
    out = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
    return out.clamp_(-1.0, 1.0)  # bilinear weights are convex; this only removes rounding overshoot


def labelled_dataset(name: str, opts: LabelledImageOptions, splits: tuple[torch.Tensor, ...],
                     class_names: list[str], source: str) -> Dataset:
    """(train uint8 (N,H,W), train labels, test uint8, test labels) -> filtered, resized Dataset."""
    n = sum(len(images) for images in splits[0::2])
    check_fits(n * opts.image_size ** 2 * 4 * 1.5, f"{n:,} {name} images at {opts.image_size}x{opts.image_size}",
               "Lower data.image_size (28 is native).")
    out = []
    for images, labels in zip(splits[0::2], splits[1::2]):
        if opts.classes is not None:
            keep = torch.isin(labels, torch.tensor(opts.classes))
            images, labels = images[keep], labels[keep]
        # clone: the uint8 splits may be a process-wide cache that callers must not be able to alter
        out += [resize(to_signed(images).unsqueeze(1), opts.image_size), labels.clone()]
    return Dataset(name=name, kind="image", train=out[0], train_labels=out[1], test=out[2],
                   test_labels=out[3], n_classes=len(class_names),
                   info={"class_names": class_names, "source": source, "classes": opts.classes})
