"""Feature extractors for the image metrics: the bundled MNIST / Fashion-MNIST classifiers, or a user's own
TorchScript network (e.g. an InceptionV3 they have on disk).

Inception weights cannot be downloaded here, and an ImageNet network is a poor judge of 28x28 digits, so FID,
KID, the classifier score and precision/recall use the penultimate layer (128-d) and the class probabilities
of a small CNN trained by `benchmarks/train_classifiers.py`; its weights ship in `metrics/weights/`.

Every extractor takes images in the data range [-1, 1] as float (N, C, H, W), runs them in large batches
under `torch.inference_mode()` and returns float32 CPU tensors.
"""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import GankitError

ARCH_VERSION = "1"          # bump when SmallCNN changes; stored in the weight files' metadata
WEIGHTS_DIR = Path(__file__).parent / "weights"
BUNDLED = ("mnist", "fashion-mnist")   # datasets with a classifier in WEIGHTS_DIR/<name>.safetensors
IMAGE_SHAPE = (1, 28, 28)

_NO_CLASSIFIER_HINT = (
    "Without a classifier these metrics still apply: the toy mode metrics (ring, grid, lines) and "
    "precision/recall/density/coverage on raw pixels; or pass your own feature extractor "
    "(gankit.metrics.classifier.TorchScriptFeatures) to use FID/KID on its features.")


class SmallCNN(nn.Module):
    """4 conv layers (3x3, BN, ReLU; max-pool after each pair) -> 128-d feature layer -> class logits.

    28x28 in: 28 -> 26 -> 24 -> pool 12 -> 10 -> 8 -> pool 4, so 64*4*4 features enter the fc layer.
    `features(x)` is the penultimate layer (after its ReLU): what FID, KID and PRDC are computed on.
    """

    feature_dim = 128

    def __init__(self, n_classes: int = 10, in_channels: int = 1, dropout: float = 0.3):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(*block(in_channels, 32), *block(32, 32), nn.MaxPool2d(2),
                                  *block(32, 64), *block(64, 64), nn.MaxPool2d(2), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(64 * 4 * 4, self.feature_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.feature_dim, n_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.fc(self.body(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.dropout(self.features(x)))


def weights_path(dataset_name: str) -> Path:
    return WEIGHTS_DIR / f"{dataset_name}.safetensors"


_CLASSIFIERS: dict[str, SmallCNN] = {}


def load_classifier(dataset_name: str) -> SmallCNN:
    """The bundled classifier of `dataset_name`, in eval mode, loaded once per process (no download)."""
    if dataset_name in _CLASSIFIERS:
        return _CLASSIFIERS[dataset_name]
    if dataset_name not in BUNDLED:
        raise GankitError(
            f"No bundled classifier for dataset {dataset_name!r}: FID, KID, the classifier score and the "
            f"DMWGAN mode metrics need one, and gankit ships classifiers for {', '.join(BUNDLED)} only. "
            + _NO_CLASSIFIER_HINT)
    path = weights_path(dataset_name)
    if not path.is_file():
        raise GankitError(
            f"The bundled classifier {path} is missing from the installation. Reinstall gankit, or "
            f"recreate it with `python benchmarks/train_classifiers.py {dataset_name}`.")
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if meta.get("arch_version") != ARCH_VERSION:
        raise GankitError(
            f"{path} was trained for classifier architecture version {meta.get('arch_version')!r}, but this "
            f"gankit builds version {ARCH_VERSION!r}. Retrain it with "
            f"`python benchmarks/train_classifiers.py {dataset_name}` or reinstall gankit.")
    state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(str(path)).items()}
    model = SmallCNN(n_classes=int(meta.get("n_classes", 10)))
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    model.to(memory_format=torch.channels_last)    # 1.8x faster inference on CPU (measured, 2 threads)
    model.metadata = meta
    _CLASSIFIERS[dataset_name] = model
    return model


def _check_images(x: Tensor, what: str) -> Tensor:
    if not isinstance(x, Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise GankitError(f"{what} expects a batch of images (N, C, H, W) in [-1, 1], got {shape}.")
    return x


def _batched(fn: Callable[[Tensor], tuple[Tensor, ...]], x: Tensor, batch_size: int,
             device: torch.device) -> tuple[Tensor, ...]:
    """Apply `fn` to `x` in batches under inference mode; concatenate its outputs as float32 on the CPU."""
    outs: list[list[Tensor]] = []
    with torch.inference_mode():
        for i in range(0, x.shape[0], batch_size):
            res = fn(x[i:i + batch_size].to(device, torch.float32, non_blocking=True))
            if not outs:
                outs = [[] for _ in res]
            for acc, r in zip(outs, res):
                acc.append(r.float().cpu())
    if not outs:   # empty input
        return tuple()
    return tuple(torch.cat(acc) for acc in outs)


class FeatureExtractor(ABC):
    """What the image metrics need from a network. Inputs are (N, C, H, W) batches in [-1, 1].

    `name` identifies the extractor in caches (e.g. real-data features), so two extractors with the same
    name must give the same features.
    """

    name: str

    @abstractmethod
    def features(self, x: Tensor) -> Tensor:
        """(N, D) float32 features (FID, KID, precision/recall)."""

    def probs(self, x: Tensor) -> Optional[Tensor]:
        """(N, K) class probabilities (classifier score, mode metrics), or None when it has no classes."""
        return None

    def features_and_probs(self, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        """Both in one call; subclasses override it to make one pass over the network."""
        return self.features(x), self.probs(x)


class ClassifierFeatures(FeatureExtractor):
    """The bundled classifier of `dataset_name`: 128-d penultimate features and softmax probabilities.

    Images of another size are resized to 28x28 (bilinear, antialiased) first; they must have 1 channel.
    """

    def __init__(self, dataset_name: str, batch_size: int = 1000, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.model = load_classifier(dataset_name)
        if self.device.type != "cpu":
            self.model = _copy_to(self.model, self.device)
        self.dataset_name = dataset_name
        self.name = f"classifier:{dataset_name}"
        self.batch_size = batch_size
        self.dim = SmallCNN.feature_dim

    def _prep(self, x: Tensor) -> Tensor:
        if x.shape[1] != IMAGE_SHAPE[0]:
            raise GankitError(
                f"The {self.dataset_name} classifier takes 1-channel images, got {x.shape[1]} channels. Use "
                "your own extractor (TorchScriptFeatures) for colour images.")
        if tuple(x.shape[2:]) != IMAGE_SHAPE[1:]:
            x = F.interpolate(x, size=IMAGE_SHAPE[1:], mode="bilinear", antialias=True, align_corners=False)
        return x

    def _run(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.model.features(self._prep(x).contiguous(memory_format=torch.channels_last))
        return h, self.model.head(h).softmax(1)

    def features(self, x: Tensor) -> Tensor:
        return self.features_and_probs(x)[0]    # the head costs ~nothing next to the convolutions

    def probs(self, x: Tensor) -> Tensor:
        return self.features_and_probs(x)[1]

    def features_and_probs(self, x: Tensor) -> tuple[Tensor, Tensor]:
        _check_images(x, "ClassifierFeatures")
        out = _batched(self._run, x, self.batch_size, self.device)
        if not out:
            return torch.zeros(0, self.dim), torch.zeros(0, self.model.head.out_features)
        return out[0], out[1]


def _copy_to(model: nn.Module, device: torch.device) -> nn.Module:
    import copy
    return copy.deepcopy(model).to(device)


class TorchScriptFeatures(FeatureExtractor):
    """A user's own network saved on disk as the feature extractor, e.g. an InceptionV3: a TorchScript file
    (torch.jit.save) or, since torch deprecates TorchScript, an exported program (torch.export.save, `.pt2`;
    export it with a dynamic batch dimension, as batches vary in size).

    The module's `forward` gets float32 (N, C, H, W) images and returns either the features (N, D) or a
    tuple `(features, logits)` with logits (N, K); with logits, `probs` is their softmax (so the classifier
    score becomes the Inception Score). Before the call the images, which gankit keeps in [-1, 1], are
    mapped linearly to `input_range`, resized to `size` (bilinear, antialiased) and, if `channels=3`,
    grayscale is repeated to RGB. Example, with an InceptionV3 the user has weights for::

        # once, where the weights are (`inception` returns (pool3 features, logits)):
        torch.jit.script(inception).save("inception.pt")
        # or: torch.export.save(torch.export.export(inception, (torch.zeros(2, 3, 299, 299),),
        #         dynamic_shapes={"x": {0: torch.export.Dim("batch")}}), "inception.pt2")
        ext = TorchScriptFeatures("inception.pt", size=(299, 299), channels=3, input_range=(-1.0, 1.0))
        fid(real_features("mnist", "test", ext), ext.features(fake_images))

    Most InceptionV3 ports normalise inputs themselves; give `input_range=(0, 1)` or `(0, 255)` where the
    network expects that instead.
    """

    def __init__(self, path: str | Path, *, size: Optional[tuple[int, int]] = None, channels: Optional[int] = None,
                 input_range: tuple[float, float] = (-1.0, 1.0), batch_size: int = 200,
                 device: str | torch.device = "cpu"):
        path = Path(path).expanduser()
        if not path.is_file():
            raise GankitError(f"Feature extractor file {path} does not exist. Give the path of a network saved "
                              "with torch.jit.save or torch.export.save (see the TorchScriptFeatures docstring).")
        self.device = torch.device(device)
        try:
            if path.suffix == ".pt2":
                self.module = torch.export.load(str(path)).module().to(self.device)
            else:
                with warnings.catch_warnings():     # the user chose TorchScript; no deprecation notice here
                    warnings.simplefilter("ignore", DeprecationWarning)
                    self.module = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as e:      # torch raises many types for a file that is not what it expects
            raise GankitError(f"{path} is not a network torch can load ({e}). Save it with "
                              "torch.jit.script(model).save(path), or torch.export.save(...) to a .pt2 file.") from None
        self.name = f"torchscript:{path.resolve()}:{size}:{channels}:{tuple(input_range)}"
        self.size, self.channels, self.input_range = size, channels, input_range
        self.batch_size = batch_size

    def _prep(self, x: Tensor) -> Tensor:
        lo, hi = self.input_range
        if (lo, hi) != (-1.0, 1.0):
            x = (x + 1) * ((hi - lo) / 2) + lo
        if self.size is not None and tuple(x.shape[2:]) != tuple(self.size):
            x = F.interpolate(x, size=tuple(self.size), mode="bilinear", antialias=True, align_corners=False)
        if self.channels is not None and x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise GankitError(f"Cannot turn {x.shape[1]}-channel images into {self.channels} channels; "
                                  "only grayscale (1 channel) is repeated.")
            x = x.expand(-1, self.channels, -1, -1)
        return x

    def _run(self, x: Tensor) -> tuple[Tensor, ...]:
        out = self.module(self._prep(x))
        if isinstance(out, (tuple, list)):
            feats, logits = out[0], out[1]
            return feats.reshape(feats.shape[0], -1), logits.softmax(1)
        return (out.reshape(out.shape[0], -1),)

    def features(self, x: Tensor) -> Tensor:
        return self.features_and_probs(x)[0]

    def probs(self, x: Tensor) -> Optional[Tensor]:
        return self.features_and_probs(x)[1]

    def features_and_probs(self, x: Tensor) -> tuple[Tensor, Optional[Tensor]]:
        _check_images(x, "TorchScriptFeatures")
        out = _batched(self._run, x, self.batch_size, self.device)
        if not out:
            raise GankitError("TorchScriptFeatures got an empty batch; give at least one image.")
        return out[0], (out[1] if len(out) > 1 else None)


def accuracy(extractor: FeatureExtractor, x: Tensor, y: Tensor) -> float:
    """Share of images in `x` whose most probable class under `extractor` is the label in `y`."""
    p = extractor.probs(x)
    if p is None:
        raise GankitError(f"Extractor {extractor.name} gives no class probabilities, so it has no accuracy; "
                          "use a classifier (ClassifierFeatures or a TorchScript module returning logits).")
    if y.shape[0] != p.shape[0]:
        raise GankitError(f"accuracy: {p.shape[0]} images but {y.shape[0]} labels; give one label per image.")
    return float((p.argmax(1) == y.cpu()).float().mean())
