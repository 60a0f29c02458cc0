from pathlib import Path

import pytest
import torch

from gankit.options import build_component
from gankit.data import load_dataset
from gankit.data.fashion import DEFAULT_ROOT, FILES
from gankit.errors import GankitError
from gankit.metrics.classifier import (BUNDLED, ClassifierFeatures, SmallCNN, TorchScriptFeatures, accuracy,
                                       load_classifier, weights_path)

N_TEST = 2000     # the first 2,000 test images: a fixed subset, a second or two on CPU

fashion_installed = pytest.mark.skipif(
    not all((Path(DEFAULT_ROOT) / f).is_file() for f in FILES),
    reason="dataset-fashion-mnist not installed: apt-get install dataset-fashion-mnist")


def first_test_images(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = load_dataset(build_component("dataset", {"name": name}, "data"))
    return data.test[:N_TEST], data.test_labels[:N_TEST]


def test_bundled_weights_are_small_and_described():
    for name in BUNDLED:
        path = weights_path(name)
        assert path.is_file() and path.stat().st_size < 2_000_000, path
        meta = load_classifier(name).metadata
        assert meta["dataset"] == name and float(meta["test_accuracy"]) > 0.9


def test_mnist_classifier_accuracy_and_features():
    x, y = first_test_images("mnist")
    ext = ClassifierFeatures("mnist")
    feats, probs = ext.features_and_probs(x)
    assert feats.shape == (N_TEST, SmallCNN.feature_dim) and probs.shape == (N_TEST, 10)
    assert torch.allclose(probs.sum(1), torch.ones(N_TEST), atol=1e-5)
    assert float((probs.argmax(1) == y).float().mean()) >= 0.99       # 0.9950 with the bundled weights
    assert load_classifier("mnist") is ext.model                      # cached per process
    assert ext.features(torch.zeros(3, 1, 32, 32)).shape == (3, SmallCNN.feature_dim)   # resized to 28x28


@fashion_installed
def test_fashion_classifier_accuracy():
    x, y = first_test_images("fashion-mnist")
    assert accuracy(ClassifierFeatures("fashion-mnist"), x, y) >= 0.90   # 0.9315 with the bundled weights


def test_unknown_dataset_says_what_still_applies():
    with pytest.raises(GankitError) as e:
        load_classifier("ring")
    msg = str(e.value)
    assert "mnist, fashion-mnist" in msg and "toy mode metrics" in msg and "raw pixels" in msg


class TinyNet(torch.nn.Module):
    def forward(self, x):
        h = x.mean(dim=(2, 3))
        return h, torch.cat([h, -h], 1)


def check_user_extractor(path):
    ext = TorchScriptFeatures(path, size=(8, 8), channels=3, input_range=(0.0, 1.0), batch_size=4)
    feats, probs = ext.features_and_probs(torch.ones(5, 1, 28, 28))   # batches of 4 and 1
    assert feats.shape == (5, 3) and torch.allclose(feats, torch.ones(5, 3))   # [-1, 1] -> [0, 1]
    assert probs.shape == (5, 6)
    assert accuracy(ext, torch.ones(5, 1, 28, 28), torch.zeros(5, dtype=torch.long)) == 1.0


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_extractor(tmp_path):
    torch.jit.script(TinyNet()).save(str(tmp_path / "net.pt"))
    check_user_extractor(tmp_path / "net.pt")
    with pytest.raises(GankitError, match="does not exist"):
        TorchScriptFeatures(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a network")
    with pytest.raises(GankitError, match="not a network torch can load"):
        TorchScriptFeatures(tmp_path / "junk.pt")


def test_exported_program_extractor(tmp_path):
    program = torch.export.export(TinyNet(), (torch.zeros(2, 3, 8, 8),),
                                  dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(program, str(tmp_path / "net.pt2"))
    check_user_extractor(tmp_path / "net.pt2")
