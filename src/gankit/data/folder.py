"""Any folder of images (searched recursively), centre-cropped and resized into one tensor."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import sys

import numpy as np
import torch
from PIL import Image

from ..memory import available_memory
from ..options import opt
from ..errors import ConfigError, DataError
from ..registry import register
from . import cache
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
    on_bad_image: Literal["stop", "skip"] = opt(
        "stop", "a file that cannot be decoded: stop (naming every such file) or skip it (a count and the "
                "paths on stderr)")
    labels: Literal["none", "subfolders"] = opt(
        "none", "class labels: none, or subfolders (each immediate sub-folder of root is a class, named by it; "
                "for class-conditional models such as cvaegan)")
    cache: bool = opt(True, "keep the decoded images in gankit's cache ($GANKIT_CACHE, default "
                            "~/.cache/gankit) so the next run skips decoding; a damaged entry is rebuilt")

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


def class_of(path: Path, root: Path) -> str:
    """The class of an image under data.labels=subfolders: the immediate sub-folder of root it lies in."""
    return path.relative_to(root).parts[0]


def class_folders(paths: list[Path], root: Path) -> list[str]:
    """Sorted class names (immediate sub-folders of root holding images), or a DataError saying what is wrong."""
    loose = [p for p in paths if len(p.relative_to(root).parts) == 1]
    if len(loose) == len(paths):
        raise DataError(f"data.labels=subfolders reads one class per sub-folder of {root}, but its {len(paths)} "
                        "images lie directly in it, without class sub-folders. Put the images of each class in "
                        f"their own folder ({root}/CLASS/image.png), or set data.labels=none for a model "
                        "without classes.")
    if loose:
        listed = ", ".join(str(p) for p in loose[:5]) + (f" and {len(loose) - 5} more" if len(loose) > 5 else "")
        raise DataError(f"data.labels=subfolders: {len(loose)} images lie directly in {root}, outside any class "
                        f"sub-folder, so they have no class: {listed}. Move them into a class folder or out "
                        "of data.root.")
    return sorted({class_of(p, root) for p in paths})


class BadImage(DataError):
    def __init__(self, path: Path, reason: str):
        super().__init__(f"Cannot read image {path}: {reason}. Delete or replace the file, or move it out of "
                         "data.root (or set data.on_bad_image=skip).")
        self.path, self.reason = path, reason


def read_image(path: Path, size: int, mode: str) -> np.ndarray:
    """Decode, convert to `mode` ("L" or "RGB"), centre-crop to a square, resize: uint8 (size, size[, 3])."""
    try:
        with Image.open(path) as img:
            img.draft(mode, (size, size))  # JPEG: let the decoder downscale big photos (much faster)
            img = img.convert("RGBA") if img.mode == "P" else img  # palettes may carry transparency
            img = img.convert(mode)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise BadImage(path, str(e) or type(e).__name__) from None
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    return np.asarray(img.resize((size, size), Image.LANCZOS, box=box))


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


def decode(paths: list[Path], size: int, channels: int, on_bad: str, root: Path) -> tuple[np.ndarray, list[str]]:
    """uint8 (N, C, H, W) of the files that decode, and the paths (with reasons) of those that do not.
    Every file is tried before stopping, so one error lists all the files to fix."""
    mode = "L" if channels == 1 else "RGB"
    # Decoded straight into one uint8 buffer, then one float copy: 5 bytes a pixel at the peak.
    images = np.empty((len(paths), channels, size, size), dtype=np.uint8)
    bad: list[BadImage] = []
    k = 0
    for path in paths:
        try:
            images[k] = read_image(path, size, mode).reshape(size, size, channels).transpose(2, 0, 1)
        except BadImage as e:
            bad.append(e)
            continue
        k += 1
    listed = "; ".join(f"{e.path} ({e.reason[:120]})" for e in bad[:10]) + (
        f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
    if bad and (on_bad == "stop" or k == 0):
        if len(bad) == 1:
            raise bad[0]
        what = "none of them decodes" if k == 0 else "set data.on_bad_image=skip to train without them"
        raise DataError(f"{len(bad)} of the {len(paths)} images in {root} cannot be read ({what}): {listed}. "
                        "Delete or replace the files, or move them out of data.root.")
    if bad:
        print(f"gankit: warning: skipped {len(bad)} of {len(paths)} images in {root} that cannot be read "
              f"(data.on_bad_image=skip): {listed}", file=sys.stderr)
    return images[:k], [str(e.path) for e in bad]


@register("dataset", "folder", FolderOptions)
def load_folder(opts: FolderOptions) -> Dataset:
    """Your own images: any folder of png/jpg/webp/bmp files, centre-cropped and resized."""
    root = Path(opts.root).expanduser()
    paths = find_images(root)
    classes = class_folders(paths, root) if opts.labels == "subfolders" else []
    g = torch.Generator().manual_seed(opts.seed)
    order = torch.randperm(len(paths), generator=g)[:opts.max_images].tolist()
    size, c = opts.image_size, opts.channels
    check_memory(len(order), c, size, root)
    chosen = [paths[i] for i in order]
    key = None
    if opts.cache:   # what the decoded array depends on: the files (name, size, mtime) and the transform
        try:
            files = [(str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in chosen]
            key = cache.make_key("folder", 1, str(root.resolve()), size, c, opts.on_bad_image, files)
        except OSError:
            key = None
    hit = cache.load("folder", key) if key else None
    if hit is not None:
        images, skipped = hit[0], list(hit[1].get("skipped", []))
    else:
        images, skipped = decode(chosen, size, c, opts.on_bad_image, root)
        if key:
            cache.store("folder", key, images, {"skipped": skipped})
    if skipped and hit is not None:
        print(f"gankit: warning: skipped {len(skipped)} of {len(chosen)} images in {root} that cannot be read "
              f"(data.on_bad_image=skip; from the cache): {'; '.join(skipped[:10])}", file=sys.stderr)
    n_test = min(round(len(images) * opts.test_fraction), len(images) - 1)  # keep one training image
    x = to_signed(torch.from_numpy(np.ascontiguousarray(images)))
    del images
    n_train = len(x) - n_test
    info = {"paths": len(x), "root": str(root), "skipped": skipped}
    if opts.labels == "none":
        return Dataset(name="folder", kind="image", train=x[:n_train], test=x[n_train:] if n_test else None,
                       info=info)
    bad = set(skipped)
    y = torch.tensor([classes.index(class_of(p, root)) for p in chosen if str(p) not in bad], dtype=torch.int64)
    return Dataset(name="folder", kind="image", train=x[:n_train], train_labels=y[:n_train],
                   test=x[n_train:] if n_test else None, test_labels=y[n_train:] if n_test else None,
                   n_classes=len(classes), info={**info, "class_names": classes})
