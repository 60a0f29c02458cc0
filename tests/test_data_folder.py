from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import load_dataset
from gankit.data.folder import FolderOptions
from gankit.errors import ConfigError, DataError


@pytest.fixture
def images(tmp_path):
    """10 images in nested folders: mixed formats, modes, sizes and extension case, plus a non-image."""
    rng = np.random.default_rng(0)
    specs = [("a/0.png", "RGB", (40, 30)), ("a/1.JPG", "RGB", (30, 50)), ("a/b/2.jpeg", "L", (64, 64)),
             ("a/b/3.png", "RGBA", (20, 35)), ("c/4.bmp", "RGB", (33, 33)), ("c/5.webp", "RGB", (50, 20)),
             ("c/6.png", "L", (17, 90)), ("7.Png", "P", (40, 40)), ("8.jpg", "L", (100, 60)),
             ("d/e/f/9.png", "RGB", (48, 32))]
    for rel, mode, (w, h) in specs:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        channels = {"RGB": 3, "RGBA": 4, "L": 1, "P": 1}[mode]
        pixels = rng.integers(0, 256, (h, w, channels), dtype=np.uint8).squeeze(-1 if channels == 1 else ())
        Image.fromarray(pixels).convert(mode).save(path)
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_rgb_split_and_range(images):
    data = load_dataset(FolderOptions(name="folder", root=str(images), image_size=16, test_fraction=0.2))
    assert data.kind == "image" and data.train_labels is None
    assert data.train.shape == (8, 3, 16, 16) and data.test.shape == (2, 3, 16, 16)
    assert data.train.min() >= -1 and data.train.max() <= 1 and data.info["paths"] == 10


def test_grayscale_no_test_and_max_images(images):
    data = load_dataset(FolderOptions(name="folder", root=str(images), channels=1, test_fraction=0.0))
    assert data.train.shape == (10, 1, 64, 64) and data.test is None
    few = load_dataset(FolderOptions(name="folder", root=str(images), max_images=4, test_fraction=0.5))
    assert len(few) == 2 and few.test.shape[0] == 2


def test_seeded_split(images):
    a, b = (load_dataset(FolderOptions(name="folder", root=str(images), image_size=8)) for _ in range(2))
    c = load_dataset(FolderOptions(name="folder", root=str(images), image_size=8, seed=1))
    assert (a.train == b.train).all() and not (a.train == c.train).all()


def test_centre_crop(tmp_path):
    # A wide image: red | green | blue thirds; the centre square is all green.
    stripes = np.zeros((30, 90, 3), dtype=np.uint8)
    stripes[:, :30, 0] = stripes[:, 30:60, 1] = stripes[:, 60:, 2] = 255
    Image.fromarray(stripes).save(tmp_path / "wide.png")
    data = load_dataset(FolderOptions(name="folder", root=str(tmp_path), image_size=10, test_fraction=0))
    rgb = data.train[0, :, 2:-2, 2:-2]  # the borders may blend in a little of the neighbours
    assert (rgb[1] > 0.99).all() and (rgb[0] < -0.99).all() and (rgb[2] < -0.99).all()


def test_missing_folder(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        load_dataset(FolderOptions(name="folder", root=str(tmp_path / "nowhere")))


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"\.png") as e:
        load_dataset(FolderOptions(name="folder", root=str(tmp_path)))
    assert str(tmp_path) in str(e.value)


def test_corrupt_image_named(images):
    (images / "c" / "broken.png").write_bytes(np.random.default_rng(1).bytes(300))
    with pytest.raises(DataError, match="broken.png"):
        load_dataset(FolderOptions(name="folder", root=str(images)))


def test_root_required():
    with pytest.raises(ConfigError, match="data.root"):
        load_dataset(FolderOptions(name="folder"))


def test_folder_too_big_for_memory_is_refused_before_decoding(images, monkeypatch):
    """A set that would not fit is refused with the subset size that would, not after minutes of decoding."""
    import gankit.data.folder as folder

    decoded = []
    monkeypatch.setattr(folder, "read_image", lambda *a: decoded.append(a) or None)
    per_image = 3 * 8 * 8 * 5
    monkeypatch.setattr(folder, "available_memory", lambda: per_image * 5)   # room for 4 images at 80%
    with pytest.raises(DataError, match=r"data\.max_images=4 fits"):
        load_dataset(FolderOptions(name="folder", root=str(images), image_size=8))
    assert not decoded


def test_bad_images_stop_naming_every_one_or_are_skipped_with_a_count(images, capsys):
    (images / "c" / "broken.png").write_bytes(b"\x89PNG not really")
    (images / "a" / "empty.jpg").write_bytes(b"")
    with pytest.raises(DataError, match=r"2 of the 12 images .*cannot be read .*on_bad_image=skip") as e:
        load_dataset(FolderOptions(name="folder", root=str(images)))
    assert "broken.png" in str(e.value) and "empty.jpg" in str(e.value)
    data = load_dataset(FolderOptions(name="folder", root=str(images), on_bad_image="skip", image_size=8,
                                      test_fraction=0))
    assert len(data) == 10 and sorted(Path(p).name for p in data.info["skipped"]) == ["broken.png", "empty.jpg"]
    err = capsys.readouterr().err
    assert "skipped 2 of 12 images" in err and "broken.png" in err


def test_nothing_decodes_is_an_error_even_when_skipping(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="3 of the 3 images .*none of them decodes"):
        load_dataset(FolderOptions(name="folder", root=str(tmp_path), on_bad_image="skip"))


def test_the_decoded_cache_is_used_refreshed_and_rebuilt_when_damaged(images, monkeypatch, tmp_path_factory, capsys):
    from gankit.data import folder

    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("GANKIT_CACHE", str(cache))
    opts = FolderOptions(name="folder", root=str(images), image_size=8, test_fraction=0)
    first = load_dataset(opts)
    entry = next((cache / "folder").glob("*.npy"))
    decoded = []
    real = folder.decode
    monkeypatch.setattr(folder, "decode", lambda *a: decoded.append(1) or real(*a))
    assert torch.equal(load_dataset(opts).train, first.train) and not decoded       # from the cache
    raw = bytearray(entry.read_bytes())
    raw[-5] ^= 0xFF                                                                  # one pixel changed on disk
    entry.write_bytes(bytes(raw))
    assert torch.equal(load_dataset(opts).train, first.train) and decoded == [1]    # noticed, decoded again
    err = capsys.readouterr().err
    assert "dataset cache" in err and "damaged" in err and "rebuilding" in err
    entry.write_bytes(entry.read_bytes()[:100])                                      # truncated
    assert torch.equal(load_dataset(opts).train, first.train) and decoded == [1, 1]
    assert torch.equal(load_dataset(opts).train, first.train) and decoded == [1, 1]  # the rebuilt entry is good
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    Image.fromarray(img).save(images / "8.jpg")                                      # a file changed
    assert not torch.equal(load_dataset(opts).train, first.train) and decoded == [1, 1, 1]


def test_an_unwritable_cache_only_warns(images, monkeypatch, capsys):
    monkeypatch.setenv("GANKIT_CACHE", "/proc/gankit-cache")
    data = load_dataset(FolderOptions(name="folder", root=str(images), image_size=8))
    assert len(data) + len(data.test) == 10
    assert "cannot write the dataset cache" in capsys.readouterr().err
    monkeypatch.setenv("GANKIT_CACHE", "off")
    load_dataset(FolderOptions(name="folder", root=str(images), image_size=8))
    assert capsys.readouterr().err == ""
