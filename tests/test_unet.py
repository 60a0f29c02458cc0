"""The U-Net generator's options: skip connections off, the dense bottleneck, and the spatial transformer
(warp) in front of it."""
import pytest
import torch

from gankit.errors import ConfigError
from gankit.nets.unet import UNet, UNetOptions
from gankit.options import build


def reach(net, size=28):
    """d output[top-left corner] / d input: which input pixels the corner pixel depends on."""
    net.eval()
    x = (torch.rand(1, 1, size, size) * 2 - 1).requires_grad_()
    net(x)[0, 0, 0, 0].backward()
    return x.grad[0, 0].abs()


@pytest.mark.parametrize("size", [(28, 28), (32, 24)])
@pytest.mark.parametrize("skips", [True, False])
@pytest.mark.parametrize("bottleneck", ["conv", "dense"])
def test_every_variant_keeps_the_image_shape(size, skips, bottleneck):
    net = UNet(UNetOptions(width=4, depth=3, skips=skips, bottleneck=bottleneck), 1, 1, size)
    y = net(torch.rand(2, 1, *size) * 2 - 1)
    assert y.shape == (2, 1, *size) and y.abs().max() <= 1


def test_dense_bottleneck_lets_every_output_pixel_see_the_whole_image():
    torch.manual_seed(0)
    conv = reach(UNet(UNetOptions(width=4, depth=2), 1, 1, (28, 28)))
    dense = reach(UNet(UNetOptions(width=4, depth=2, bottleneck="dense"), 1, 1, (28, 28)))
    # a rotation by 90 degrees maps the top-left corner's pixel from the bottom-left one
    assert conv[20:, :8].sum() == 0 and dense[20:, :8].sum() > 0


def test_without_skips_the_decoder_takes_only_the_code():
    with_skips = UNet(UNetOptions(width=4, depth=3), 1, 1)
    without = UNet(UNetOptions(width=4, depth=3, skips=False), 1, 1)
    # each decoder stage but the innermost reads half the channels: no concatenated encoder stage
    assert [m.in_channels for m in without.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [16, 8, 4]
    assert [m.in_channels for m in with_skips.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [16, 16, 8]


def test_dense_bottleneck_needs_the_image_size_and_a_valid_name():
    with pytest.raises(ConfigError, match="image size"):
        UNet(UNetOptions(bottleneck="dense"), 1, 1)
    with pytest.raises(ConfigError, match="bottleneck"):
        build(UNetOptions, {"bottleneck": "fc"}, "model.generator")


def test_a_dense_code_too_large_to_hold_is_refused_with_the_sizes():
    with pytest.raises(ConfigError, match=r"256x256 image after 3 stages leaves a 32x32x32 code"):
        UNet(UNetOptions(width=8, depth=3, bottleneck="dense"), 3, 3, (256, 256))


@pytest.mark.parametrize("kind, turn, back", [
    ("rotation", [torch.pi / 2], [-torch.pi / 2]),
    ("affine", [0.0, -1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, -1.0, 0.0, 0.0])])
def test_the_warp_starts_as_the_identity_and_turns_a_square_image_exactly(kind, turn, back):
    torch.manual_seed(0)
    net = UNet(UNetOptions(width=4, depth=2, warp=kind), 1, 1, (28, 28))
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    assert torch.allclose(net.warp(x), x, atol=1e-5)
    head = net.warp.head[-1]
    with torch.no_grad():
        head.bias.copy_(torch.tensor(turn))
    assert torch.allclose(net.warp(x), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5)   # the data's rot90
    with torch.no_grad():
        head.bias.copy_(torch.tensor(back))
    assert torch.allclose(net.warp(x), torch.rot90(x, -1, dims=(-2, -1)), atol=1e-5)
    y = net(x)
    assert y.shape == x.shape and y.abs().max() <= 1


def test_the_turn_is_rigid_on_an_image_that_is_not_square():
    # affine_grid's coordinates span [-1, 1] on both sides: without the aspect ratio a turn stretches the image
    net = UNet(UNetOptions(width=4, depth=2, warp="rotation"), 1, 1, (20, 28))
    x = -torch.ones(1, 1, 20, 28)
    x[0, 0, 10, 9:19] = 1.0                               # a horizontal bar 10 pixels long through the centre
    with torch.no_grad():
        net.warp.head[-1].bias.fill_(torch.pi / 2)
    y = net.warp(x)[0, 0]
    assert 9.0 <= float((y > 0).sum()) <= 11.0            # still ~10 bright pixels ...
    assert float((y[:, 13:15] > 0).sum()) >= 9.0          # ... now down the middle columns


def test_the_warp_leaves_the_unet_weights_as_they_were_and_needs_the_image_size():
    torch.manual_seed(0)
    plain = UNet(UNetOptions(width=4, depth=2), 1, 1, (28, 28))
    torch.manual_seed(0)
    warped = UNet(UNetOptions(width=4, depth=2, warp="rotation"), 1, 1, (28, 28))
    same = {k: v for k, v in warped.state_dict().items() if not k.startswith("warp.")}
    assert same.keys() == plain.state_dict().keys()
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in same.items())
    with pytest.raises(ConfigError, match="image size"):
        UNet(UNetOptions(warp="affine"), 1, 1)
    with pytest.raises(ConfigError, match="warp"):
        build(UNetOptions, {"warp": "spin"}, "model.generator")
