"""Network families: shapes, ranges, gradient flow, normalisation wiring and option validation."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.options import build
from gankit.errors import ConfigError
from gankit.nets import build_discriminator, build_generator, init_weights
from gankit.nets.dcgan import DCGANOptions
from gankit.nets.mlp import MLPOptions

NORMS = ["none", "batch", "layer", "spectral"]
Z = 6
B = 4
NORM_TYPES = {"batch": (nn.BatchNorm1d, nn.BatchNorm2d), "layer": (nn.LayerNorm, nn.GroupNorm)}
WEIGHTED = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)

CASES = [pytest.param(f, k, s, id=f"{f}-{k}-{'x'.join(map(str, s))}") for f, k, s in
         [("mlp", "points", (2,)), ("mlp", "image", (1, 28, 28)),
          ("dcgan", "image", (1, 28, 28)), ("dcgan", "image", (3, 32, 32)), ("dcgan", "image", (3, 64, 64))]]


def options(family: str, norm: str, **kw) -> MLPOptions | DCGANOptions:
    if family == "mlp":
        return build(MLPOptions, {"name": "mlp", "hidden": [16, 8], "norm": norm, **kw}, "net")
    return build(DCGANOptions, {"name": "dcgan", "width": 8, "norm": norm, **kw}, "net")


def make(family: str, kind: str, shape: tuple, norm: str, out_dim: int = 1, **kw):
    torch.manual_seed(0)
    o = options(family, norm, **kw)
    return build_generator(o, Z, shape, kind), build_discriminator(o, shape, out_dim, kind)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("family,kind,shape", CASES)
def test_shapes_range_and_gradients(family, kind, shape, norm):
    G, D = make(family, kind, shape, norm, out_dim=3)
    x = G(torch.randn(B, Z))
    assert x.shape == (B, *shape)
    if kind == "image":
        assert x.min() >= -1 and x.max() <= 1
    feats = D.features(x)
    assert feats.shape == (B, D.feature_dim)
    out = D(x)
    assert out.shape == (B, 3)
    out.sum().backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
            assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("family,kind,shape", CASES)
def test_norm_wiring(family, kind, shape, norm):
    for net in make(family, kind, shape, norm):
        mods = list(net.modules())
        weighted = [m for m in mods if isinstance(m, WEIGHTED)]
        sn = [parametrize.is_parametrized(m, "weight") for m in weighted]
        assert all(sn) if norm == "spectral" else not any(sn)
        for kind_, types in NORM_TYPES.items():
            assert any(isinstance(m, types) for m in mods) == (norm == kind_)


def test_spectral_norm_bounds_singular_value():
    _, D = make("mlp", "points", (2,), "spectral")
    for _ in range(30):  # each training-mode forward runs one power iteration
        D(torch.randn(B, 2))
    sigma = torch.linalg.matrix_norm(D.head.weight.detach(), ord=2)
    assert sigma == pytest.approx(1.0, abs=0.05)


def test_dcgan_paper_details():
    G, D = make("dcgan", "image", (1, 28, 28), "batch")
    # D: no norm on the first layer, LeakyReLU(0.2); G: ReLU and no norm on the output layer.
    assert isinstance(D.body[0], nn.Conv2d) and isinstance(D.body[1], nn.LeakyReLU)
    assert D.body[1].negative_slope == 0.2
    assert any(isinstance(m, nn.ReLU) for m in G) and not any(isinstance(m, nn.LeakyReLU) for m in G)
    assert isinstance(G[-2], nn.ConvTranspose2d) and isinstance(G[-1], nn.Tanh)
    assert D.feature_dim == 16 * 7 * 7
    # Explicit activation applies to both nets.
    G2, D2 = make("dcgan", "image", (1, 28, 28), "batch", activation="elu")
    assert isinstance(D2.body[1], nn.ELU) and any(isinstance(m, nn.ELU) for m in G2)


def test_dcgan_init():
    torch.manual_seed(0)
    G = build_generator(options("dcgan", "batch", width=32), Z, (1, 32, 32), "image")
    conv = [m for m in G if isinstance(m, nn.ConvTranspose2d)][0]
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.1)
    bn = [m for m in G if isinstance(m, nn.BatchNorm2d)][0]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.02) and bn.weight.std() > 0
    assert all((m.bias == 0).all() for m in G if getattr(m, "bias", None) is not None)
    # Re-initialising a spectrally normalised layer writes to the stored weight, not to a copy.
    lin = nn.utils.parametrizations.spectral_norm(nn.Linear(64, 64))
    init_weights(lin, "dcgan")
    assert lin.parametrizations.weight.original.std().item() == pytest.approx(0.02, rel=0.2)


@pytest.mark.parametrize("side", [8, 14, 16, 56, 128])
def test_dcgan_other_sizes(side):
    G, D = make("dcgan", "image", (2, side, side), "none")
    assert D(G(torch.randn(2, Z))).shape == (2, 1)


@pytest.mark.parametrize("shape", [(1, 30, 30), (1, 28, 32), (1, 7, 7), (3, 512, 512)])
def test_dcgan_rejects_unsupported_sizes(shape):
    o = options("dcgan", "batch")
    with pytest.raises(ConfigError, match=rf"{shape[1]}x{shape[2]}.*data.image_size"):
        build_generator(o, Z, shape, "image")
    with pytest.raises(ConfigError, match="28, 32"):
        build_discriminator(o, shape, 1, "image")


def test_dcgan_rejects_points():
    o = options("dcgan", "batch")
    with pytest.raises(ConfigError, match="mlp"):
        build_generator(o, Z, (2,), "points")
    with pytest.raises(ConfigError, match="mlp"):
        build_discriminator(o, (2,), 1, "points")


def test_mlp_dropout_and_points_output():
    G, D = make("mlp", "points", (2,), "none", dropout=0.5)
    assert sum(isinstance(m, nn.Dropout) for m in D.modules()) == 2
    assert not any(isinstance(m, nn.Dropout) for m in G.modules())
    # Points are unbounded: no output squashing by default.
    assert isinstance(G.out_act, nn.Identity)


@pytest.mark.parametrize("raw,match", [
    ({"hidden": []}, "hidden must list"),
    ({"hidden": [16, 0]}, r"hidden\[1\] must be a positive"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"dropout": -0.1}, "dropout"),
    ({"hiden": [4]}, "Did you mean 'hidden'"),
    ({"norm": "batchnorm"}, "Did you mean 'batch'"),
])
def test_mlp_option_errors(raw, match):
    with pytest.raises(ConfigError, match=match):
        build(MLPOptions, {"name": "mlp", **raw}, "model.discriminator")


def test_dcgan_option_errors():
    with pytest.raises(ConfigError, match="width must be a positive"):
        build(DCGANOptions, {"name": "dcgan", "width": 0}, "model.generator")
    with pytest.raises(ConfigError, match="activation"):
        build(DCGANOptions, {"name": "dcgan", "activation": "lrelu"}, "model.generator")


def test_build_rejects_mismatched_options():
    with pytest.raises(TypeError, match="MLPOptions"):
        build_generator(DCGANOptions(name="mlp"), Z, (2,), "points")


def test_dcgan_fc_layer_is_the_feature_layer():
    from gankit.options import build_component
    from gankit.nets import build_discriminator, build_generator

    opts = build_component("net", {"name": "dcgan", "width": 8, "fc": 32}, "net")
    D = build_discriminator(opts, (1, 28, 28), 1, "image")
    G = build_generator(opts, 10, (1, 28, 28), "image")
    x = torch.randn(4, 1, 28, 28)
    assert D.feature_dim == 32 and D.features(x).shape == (4, 32) and D(x).shape == (4, 1)
    assert G(torch.randn(4, 10)).shape == (4, 1, 28, 28)
    assert any(isinstance(m, torch.nn.Linear) and m.out_features == 32 for m in G.modules())
