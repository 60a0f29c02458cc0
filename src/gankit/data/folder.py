"""Any folder of images (searched recursively), centre-cropped and resized into one tensor."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import torch
from PIL import Image

from ..options import opt
from ..errors import ConfigError, DataError
from ..registry import register
from .base import DataOptions, Dataset
from .images import check_image_size, to_signed

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


@dataclass
class FolderOptions(DataOptions):
    root: str = opt("", "folder of images (png, jpg, jpeg, webp, bmp), searched recursively")
    image_size: int = opt(64, "side of the square images after centre crop and resize")
    channels: Literal[1, 3] = opt(3, "1 = grayscale, 3 = RGB")
    test_fraction: float = opt(0.1, "fraction of the images held out as a test set (seeded split)")
    max_images: Optional[int] = opt(None, "use at most this many images (a seeded random subset)")

    def check(self, path: str) -> None:
        super().check(path)
        if not self.root:
            raise ConfigError(f"{path}.root is empty: set it to a folder of images, e.g. "
                              "`data.root=/path/to/images`.")
        check_image_size(self.image_size, path)
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError(f"{path}.test_fraction must be in [0, 1), got {self.test_fraction}.")
        if self.max_images is not None and self.max_images < 1:
            raise ConfigError(f"{path}.max_images must be positive, got {self.max_images}.")


def find_images(root: Path) -> list[Path]:
    """Image files under `root`, sorted so that the split does not depend on the file system order."""
    if not root.is_dir():
        raise DataError(f"Image folder {root} does not exist (or is not a folder). Set data.root to a "
                        "folder of images.")
    paths = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not paths:
        raise DataError(f"No images in {root} or its subfolders. Accepted extensions (any case): "
                        f"{', '.join(EXTENSIONS)}.")
    return paths


def read_image(path: Path, size: int, mode: str) -> np.ndarray:
    """Decode, convert to `mode` ("L" or "RGB"), centre-crop to a square, resize: uint8 (size, size[, 3])."""
    try:
        with Image.open(path) as img:
            img.draft(mode, (size, size))  # JPEG: let the decoder downscale big photos (much faster)
            img = img.convert("RGBA") if img.mode == "P" else img  # palettes may carry transparency
            img = img.convert(mode)
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"Cannot read image {path}: {e}. Delete or replace the file, or move it out of "
                        "data.root.") from None
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return np.asarray(img.resize((size, size), Image.LANCZOS, box=box))


def available_memory() -> Optional[int]:
    """Bytes the kernel says can be allocated without swapping (Linux MemAvailable); None elsewhere."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def check_memory(n: int, channels: int, size: int, root: Path) -> None:
    """Refuse, before decoding anything, a folder whose tensor would not fit in memory (the whole set is
    held as float32, plus its uint8 decode while loading), rather than fail minutes later or swap."""
    per_image = channels * size * size * 5
    free = available_memory()
    if free is None or n * per_image <= 0.8 * free:
        return
    fits = int(0.8 * free // per_image)
    raise DataError(f"{n} images from {root} at {size}x{size}x{channels} need {n * per_image / 2**30:.1f} GiB "
                    f"in memory, but only {free / 2**30:.1f} GiB is available. Use a subset "
                    f"(data.max_images={fits} fits) or smaller images (data.image_size).")


@register("dataset", "folder", FolderOptions)
def load_folder(opts: FolderOptions) -> Dataset:
    """Your own images: any folder of png/jpg/webp/bmp files, centre-cropped and resized."""
    root = Path(opts.root).expanduser()
    paths = find_images(root)
    g = torch.Generator().manual_seed(opts.seed)
    order = torch.randperm(len(paths), generator=g)[:opts.max_images].tolist()
    n_test = min(round(len(order) * opts.test_fraction), len(order) - 1)  # keep one training image
    mode = "L" if opts.channels == 1 else "RGB"
    size, c = opts.image_size, opts.channels
    check_memory(len(order), c, size, root)
    # Decoded straight into one uint8 (N, C, H, W) buffer, then one float copy: 5 bytes a pixel at the peak.
    images = np.empty((len(order), c, size, size), dtype=np.uint8)
    for j, i in enumerate(order):
        images[j] = read_image(paths[i], size, mode).reshape(size, size, c).transpose(2, 0, 1)
    x = to_signed(torch.from_numpy(images))
    del images
    n_train = len(order) - n_test
    return Dataset(name="folder", kind="image", train=x[:n_train], test=x[n_train:] if n_test else None,
                   info={"paths": len(order), "root": str(root)})
