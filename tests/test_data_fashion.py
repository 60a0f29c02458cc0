import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from gankit.data import load_dataset
from gankit.data.fashion import CLASS_NAMES, DEFAULT_ROOT, FILES, FashionOptions
from gankit.errors import DataError

installed = pytest.mark.skipif(
    not all((Path(DEFAULT_ROOT) / f).is_file() for f in FILES),
    reason="dataset-fashion-mnist not installed: apt-get install dataset-fashion-mnist")


@pytest.fixture(scope="module")
def fashion():
    return load_dataset(FashionOptions(name="fashion-mnist"))


@installed
def test_shapes_range_and_balance(fashion):
    assert fashion.train.shape == (60000, 1, 28, 28) and fashion.test.shape == (10000, 1, 28, 28)
    assert fashion.train.min() == -1.0 and fashion.train.max() == 1.0
    assert fashion.train_labels.bincount().tolist() == [6000] * 10
    assert fashion.test_labels.bincount().tolist() == [1000] * 10
    assert fashion.info["class_names"][9] == "Ankle boot" and fashion.n_classes == 10


@installed
def test_classes_and_resize():
    data = load_dataset(FashionOptions(name="fashion-mnist", classes=[7], image_size=64))
    assert data.train.shape == (6000, 1, 64, 64) and (data.test_labels == 7).all()


def _write_idx(root: Path, n: int = 5) -> None:
    """Tiny but valid idx files with the official names."""
    images = np.arange(n * 28 * 28, dtype=np.uint8).reshape(n, 28, 28)
    labels = np.arange(n, dtype=np.uint8)
    for prefix in ("train", "t10k"):
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">4I", 2051, n, 28, 28) + images.tobytes()))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(struct.pack(">2I", 2049, n) + labels.tobytes()))


def test_parses_idx(tmp_path):
    _write_idx(tmp_path)
    data = load_dataset(FashionOptions(name="fashion-mnist", root=str(tmp_path)))
    assert data.train.shape == (5, 1, 28, 28) and data.train_labels.tolist() == [0, 1, 2, 3, 4]
    assert data.train[0, 0, 0, 1] == -1 + 1 / 127.5 and data.info["class_names"] == CLASS_NAMES


def test_missing_root_names_apt(tmp_path):
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset(FashionOptions(name="fashion-mnist", root=str(tmp_path / "missing")))


@pytest.mark.parametrize("corrupt", ["magic", "truncated", "not-gzip"])
def test_corrupt_file_named(tmp_path, corrupt):
    _write_idx(tmp_path, n=6)
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(bad.read_bytes())
    raw = {"magic": struct.pack(">I", 2052) + raw[4:], "truncated": raw[:-10], "not-gzip": None}[corrupt]
    bad.write_bytes(gzip.compress(raw) if raw is not None else b"not a gzip file")
    with pytest.raises(DataError, match=bad.name):
        load_dataset(FashionOptions(name="fashion-mnist", root=str(tmp_path)))


def test_label_count_mismatch(tmp_path):
    _write_idx(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">2I", 2049, 2) + bytes([0, 1])))
    with pytest.raises(DataError, match="t10k"):
        load_dataset(FashionOptions(name="fashion-mnist", root=str(tmp_path)))
