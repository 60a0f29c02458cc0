"""Two unpaired image domains U and V for translation models (DualGAN): the dataset `pair`.

    data: {name: pair, pair: mnist-invert}                     a built-in pair
    data: {domain_a: {name: folder, root: A/}, domain_b: {name: folder, root: B/}}   any two image sources
    data: {name: pair, root: DIR}          DIR/A and DIR/B, two folders of images (the authors' layout)

The training tensor holds both domains side by side: train[i] = (u_i, v_i), shape (N, 2, C, H, W), with
u_i and v_i unrelated (unpaired); the batch stream slices it like any other dataset and a batch carries
both domains. Labels, where both sources have them, are (N, 2).

Built-in pairs with a known translation T (data/transforms.py) draw U and V from disjoint halves of the
source's training set (a seeded split), so no image is in both domains: U = half 1, V = T(half 2). Their
test split is paired: test[j] = (x_j, T(x_j)) for the held-out images, so a translation can be scored
against the truth. `mnist-fashion` has no T: U = MNIST, V = Fashion-MNIST, and its test split is unpaired.

Domains of different shapes (user sources): by default domain B is converted to domain A's shape: channels
1 -> 3 by repeating the grey channel, 3 -> 1 by ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B); size by
bilinear resizing (antialiased when shrinking). `mismatch: error` refuses instead, naming both shapes.
The shorter domain is cycled (a seeded permutation) up to the longer one's length, so no image is unused.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

import torch
import torch.nn.functional as F

from ..errors import ConfigError, DataError, did_you_mean
from ..options import build_component, opt
from ..registry import lookup, register
from .base import DataOptions, Dataset
from .images import check_image_size
from .transforms import TRANSFORMS, apply_batched

# built-in pair -> (source dataset, transform name) or (dataset of U, dataset of V)
BUILTIN = {
    "mnist-rot90": ("mnist", "rot90"), "mnist-invert": ("mnist", "invert"), "mnist-edges": ("mnist", "edges"),
    "fashion-rot90": ("fashion-mnist", "rot90"), "fashion-invert": ("fashion-mnist", "invert"),
    "fashion-edges": ("fashion-mnist", "edges"), "mnist-fashion": ("mnist", "fashion-mnist"),
}
LUMA = (0.299, 0.587, 0.114)


@dataclass
class PairOptions(DataOptions):
    pair: Optional[str] = opt(None, "a built-in pair: " + ", ".join(BUILTIN) + " (or give domain_a and domain_b)")
    domain_a: Optional[dict] = opt(None, "domain U: a dataset section, e.g. {name: folder, root: photos/}")
    domain_b: Optional[dict] = opt(None, "domain V: a dataset section, e.g. {name: folder, root: sketches/}")
    root: Optional[str] = opt(None, "a folder with subfolders A/ and B/ of images (the two domains), instead of "
                                    "domain_a and domain_b")
    image_size: int = opt(28, "built-in pairs and root: side of the square images (28 is MNIST's native)")
    channels: Literal[1, 3] = opt(3, "root: 1 = grayscale, 3 = RGB")
    test_limit: Optional[int] = opt(None, "keep only the first N held-out pairs (quicker evaluation; tests)")
    mismatch: Literal["convert", "error"] = opt(
        "convert", "domains of different shapes: convert B to A's channels and size, or stop with an error")

    def check(self, path: str) -> None:
        super().check(path)
        check_image_size(self.image_size, path)
        if self.test_limit is not None and self.test_limit < 1:
            raise ConfigError(f"{path}.test_limit must be a positive number of pairs, got {self.test_limit}; "
                              "leave it unset (null) to keep the whole test split.")
        given = [k for k in ("domain_a", "domain_b") if getattr(self, k) is not None]
        if self.root is not None:
            if self.pair is not None or given or not self.root:
                raise ConfigError(f"{path}.root: give a non-empty folder holding A/ and B/, and then neither "
                                  "a built-in pair nor domain_a / domain_b.")
            return
        if self.pair is not None:
            if self.pair not in BUILTIN:
                raise ConfigError(f"{path}.pair: unknown built-in pair {self.pair!r}.{did_you_mean(self.pair, BUILTIN)} "
                                  f"Built-in pairs: {', '.join(BUILTIN)}; or give domain_a and domain_b.")
            if given:
                raise ConfigError(f"{path}: give either a built-in pair ({self.pair!r}) or domain_a and domain_b, "
                                  f"not both (remove {', '.join(given)} or pair).")
            return
        if len(given) != 2:
            raise ConfigError(f"{path} needs two domains: a built-in pair (`pair: mnist-invert`; pairs: "
                              f"{', '.join(BUILTIN)}) or both domain_a and domain_b as dataset sections, e.g. "
                              "{name: folder, root: photos/}" + (f" (only {given[0]} is set)." if given else "."))
        for key in given:
            self.source(key, path)

    def source(self, key: str, path: str = "data") -> DataOptions:
        """The validated options of domain `key` (domain_a or domain_b)."""
        if self.root is not None:
            sub = "A" if key == "domain_a" else "B"
            return build_component("dataset", {"name": "folder", "root": str(Path(self.root).expanduser() / sub),
                                               "image_size": self.image_size, "channels": self.channels,
                                               "seed": self.seed}, f"{path}.root/{sub}")
        raw = getattr(self, key)
        name = raw.get("name") if isinstance(raw, dict) else raw
        if name == "pair":
            raise ConfigError(f"{path}.{key} must be a single-domain dataset (folder, mnist, ...), not 'pair'.")
        return build_component("dataset", raw, f"{path}.{key}")


def _load(opts: DataOptions, key: str, root: Optional[str]) -> Dataset:
    try:
        data = lookup("dataset", opts.name).obj(opts)
    except DataError as e:   # the loader names its own options (data.root); here they sit under data.domain_x
        if root is not None:
            raise DataError(f"{e} (data.root = {root} must hold two folders of images, A/ and B/: domain U "
                            "and domain V.)") from None
        msg = str(e).replace("data.", f"data.{key}.")
        raise DataError(msg if f"data.{key}." in msg else f"{msg} (the folder of data.{key}.root)") from None
    if data.kind != "image":
        raise ConfigError(f"data.{key} ({opts.name!r}) holds {data.kind}, not images; translation needs two "
                          "image domains.")
    if opts.limit is not None:
        data.train = data.train[:opts.limit]
        data.train_labels = None if data.train_labels is None else data.train_labels[:opts.limit]
    return data


def convert(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Images (N, C, H, W) to (C', H', W') by the module's documented rule."""
    c, h, w = shape
    if x.shape[1] != c:
        if x.shape[1] == 1 and c == 3:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] == 3 and c == 1:
            x = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
        else:
            raise DataError(f"Cannot convert {x.shape[1]}-channel images to {c} channels.")
    if tuple(x.shape[-2:]) != (h, w):
        shrink = h < x.shape[-2] or w < x.shape[-1]
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink).clamp_(-1, 1)
    return x.contiguous()


def _cycled(n: int, total: int, g: torch.Generator) -> torch.Tensor:
    """Indices 0..n-1 in seeded random order, repeated (each pass reshuffled) up to `total`."""
    parts, have = [], 0
    while have < total:
        parts.append(torch.randperm(n, generator=g))
        have += n
    return torch.cat(parts)[:total]


def _stack(a: Optional[torch.Tensor], b: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
    return None if a is None or b is None else torch.stack([a, b], 1)


def _builtin(opts: PairOptions) -> Dataset:
    source, second = BUILTIN[opts.pair]
    common = {"name": source, "image_size": opts.image_size, "seed": opts.seed}
    src = lookup("dataset", source).obj(build_component("dataset", common, "data"))
    g = torch.Generator().manual_seed(opts.seed)
    if second in TRANSFORMS:
        T, _ = TRANSFORMS[second]
        perm = torch.randperm(len(src.train), generator=g)
        half = len(perm) // 2
        ia, ib = perm[:half][:opts.limit], perm[half:2 * half][:opts.limit]   # disjoint halves of the training set
        train = torch.stack([src.train[ia], apply_batched(T, src.train[ib])], 1)
        labels = torch.stack([src.train_labels[ia], src.train_labels[ib]], 1)
        test = torch.stack([src.test, apply_batched(T, src.test)], 1)
        test_labels = torch.stack([src.test_labels, src.test_labels], 1)
        info = {"transform": second, "classifiers": (source, source), "paired_test": True,
                "train_index": (ia, ib)}
    else:   # two datasets, no known translation
        other = lookup("dataset", second).obj(build_component("dataset", {**common, "name": second}, "data"))
        n = max(len(src.train), len(other.train))
        ia, ib = _cycled(len(src.train), n, g), _cycled(len(other.train), n, g)
        train = torch.stack([src.train[ia], other.train[ib]], 1)
        labels = torch.stack([src.train_labels[ia], other.train_labels[ib]], 1)
        m = min(len(src.test), len(other.test))
        test = torch.stack([src.test[:m], other.test[:m]], 1)
        test_labels = torch.stack([src.test_labels[:m], other.test_labels[:m]], 1)
        info = {"transform": None, "classifiers": (source, second), "paired_test": False}
    return Dataset("pair", "pair", train, labels, test, test_labels, src.n_classes,
                   info={**info, "pair": opts.pair, "domains": (source, second if second not in TRANSFORMS
                                                                else f"{source} {second}")})


def _custom(opts: PairOptions) -> Dataset:
    a, b = (_load(opts.source(k), k, opts.root) for k in ("domain_a", "domain_b"))
    sa, sb = a.sample_shape, b.sample_shape
    if sa != sb:
        if opts.mismatch == "error":
            raise DataError(f"The two domains have different image shapes: domain_a {tuple(sa)} and domain_b "
                            f"{tuple(sb)} (channels, height, width). Give them the same image_size and "
                            "channels, or set data.mismatch=convert (B is converted to A's shape).")
        b.train = convert(b.train, sa)
        b.test = None if b.test is None else convert(b.test, sa)
    g = torch.Generator().manual_seed(opts.seed)
    n = max(len(a.train), len(b.train))
    ia, ib = _cycled(len(a.train), n, g), _cycled(len(b.train), n, g)
    train = torch.stack([a.train[ia], b.train[ib]], 1)
    labels = None if a.train_labels is None or b.train_labels is None else \
        torch.stack([a.train_labels[ia], b.train_labels[ib]], 1)
    test = test_labels = None
    if a.test is not None and b.test is not None:
        m = min(len(a.test), len(b.test))
        test = torch.stack([a.test[:m], b.test[:m]], 1)
        if a.test_labels is not None and b.test_labels is not None:
            test_labels = torch.stack([a.test_labels[:m], b.test_labels[:m]], 1)
    bundled = ("mnist", "fashion-mnist")
    names = (opts.source("domain_a").name, opts.source("domain_b").name)
    classifiers = tuple(nm if nm in bundled and s == (1, 28, 28) else None for nm, s in zip(names, (sa, sa)))
    return Dataset("pair", "pair", train, labels, test, test_labels, a.n_classes,
                   info={"transform": None, "classifiers": classifiers, "paired_test": False,
                         "domains": names, "shapes": (tuple(sa), tuple(sb))})


@register("dataset", "pair", PairOptions)
def load_pair(opts: PairOptions) -> Dataset:
    """Two unpaired image domains (translation): built-in pairs with a known T, or any two image sources."""
    data = _builtin(opts) if opts.pair is not None else _custom(opts)
    if opts.test_limit is not None and data.test is not None:
        data.test = data.test[:opts.test_limit].clone()
        data.test_labels = None if data.test_labels is None else data.test_labels[:opts.test_limit].clone()
    return data
