"""Fashion-MNIST from the idx files of the Debian package `dataset-fashion-mnist` (no download)."""
from __future__ import annotations

import functools
import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..options import opt
from ..errors import DataError
from ..registry import register
from .base import Dataset
from .images import LabelledImageOptions, labelled_dataset

DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
INSTALL = "sudo apt-get install dataset-fashion-mnist (or `apt-get install dataset-fashion-mnist` as root)"
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
_MAGIC_IMAGES, _MAGIC_LABELS = 2051, 2049  # idx: 0x08 (ubyte) then 3 or 1 dimensions


@dataclass
class FashionOptions(LabelledImageOptions):
    root: str = opt(DEFAULT_ROOT, "folder holding the four gzipped Fashion-MNIST idx files")


def read_idx(path: Path) -> np.ndarray:
    """A gzipped idx file of unsigned bytes -> (N, rows, cols) images or (N,) labels."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as e:
        raise DataError(f"{path} is not a readable gzip file ({e}). Reinstall it: {INSTALL}.") from None
    magic = struct.unpack(">I", raw[:4])[0] if len(raw) >= 4 else None
    if magic not in (_MAGIC_IMAGES, _MAGIC_LABELS):
        raise DataError(f"{path} is not an idx file of images or labels (magic number {magic}, expected "
                        f"{_MAGIC_IMAGES} or {_MAGIC_LABELS}). Reinstall it: {INSTALL}.")
    ndim = 3 if magic == _MAGIC_IMAGES else 1
    header = 4 + 4 * ndim
    dims = struct.unpack(f">{ndim}I", raw[4:header]) if len(raw) >= header else ()
    if len(dims) != ndim or len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path} is truncated or corrupt: its header says {dims} but it holds "
                        f"{len(raw) - header} bytes of data. Reinstall it: {INSTALL}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


@functools.lru_cache(maxsize=2)
def _load_uint8(root: Path) -> tuple[torch.Tensor, ...]:
    """(train x, y, test x, y) with x uint8 (N, 28, 28); decoded once per process."""
    paths = [root / name for name in FILES]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"Fashion-MNIST files missing in {root}: {', '.join(missing)}. Install the dataset "
                        f"with `{INSTALL}`, or set data.root to a folder holding {', '.join(FILES)}.")
    arrays = [read_idx(p) for p in paths]
    for (images, labels), name in zip((arrays[:2], arrays[2:]), ("train", "t10k")):
        if images.shape[1:] != (28, 28) or len(images) != len(labels) or labels.max(initial=0) > 9:
            raise DataError(f"The Fashion-MNIST {name} files in {root} do not match: images "
                            f"{images.shape}, labels {labels.shape} (expected 28x28 images, one label "
                            f"0..9 each). Reinstall them: {INSTALL}.")
    # np.frombuffer views are read-only; copy into tensors that own their memory.
    return tuple(torch.from_numpy(a.astype(np.int64 if a.ndim == 1 else np.uint8)) for a in arrays)


@register("dataset", "fashion-mnist", FashionOptions)
def load_fashion(opts: FashionOptions) -> Dataset:
    """Fashion-MNIST clothing images, 60k train / 10k test, 1x28x28 (Debian dataset package)."""
    root = Path(opts.root).expanduser()
    return labelled_dataset("fashion-mnist", opts, _load_uint8(root.resolve()), CLASS_NAMES, str(root))
