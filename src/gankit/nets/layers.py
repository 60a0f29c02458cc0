"""Building blocks shared by the network families: activations, normalisation, spectral norm, init.

Every family builds its layers from these, so that `norm: spectral` or `activation: leaky_relu` means
the same thing in an MLP and in a DCGAN.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

# Radford et al. 2015, sec. 3: "the slope of the leak was set to 0.2" (also used by most GAN papers since).
LEAKY_SLOPE = 0.2

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,   # built with its slope by activation()
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "softplus": nn.Softplus,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "none": nn.Identity,
}
_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d,
             nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_NORMS = ("none", "batch", "layer", "spectral")


def activation(name: str, leaky_slope: float = LEAKY_SLOPE) -> nn.Module:
    """A fresh activation module by name (leaky_relu has slope `leaky_slope`, 0.2 unless asked)."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name](leaky_slope) if name == "leaky_relu" else _ACTIVATIONS[name]()


def output_activation(name: str, data_kind: str) -> nn.Module:
    """Generator output: 'auto' is tanh for images (data lives in [-1, 1]) and identity for points."""
    if name == "auto":
        name = "tanh" if data_kind == "image" else "none"
    if name not in ("tanh", "sigmoid", "none"):
        raise ValueError(f"unknown output activation {name!r}; expected auto, tanh, sigmoid or none")
    return activation(name)


def _check_norm(kind: str) -> None:
    if kind not in _NORMS:
        raise ValueError(f"unknown norm {kind!r}; expected one of {', '.join(_NORMS)}")


def norm_1d(kind: str, n: int) -> nn.Module:
    """Normalisation after a Linear layer with n outputs; spectral norm lives on the layer itself."""
    _check_norm(kind)
    if kind == "batch":
        return nn.BatchNorm1d(n)
    if kind == "layer":
        return nn.LayerNorm(n)
    return nn.Identity()


def norm_2d(kind: str, c: int) -> nn.Module:
    """Normalisation after a conv layer with c channels.

    'layer' is GroupNorm with one group, i.e. layer norm over (C, H, W) per sample: the critic
    normalisation of WGAN-GP (Gulrajani et al. 2017, sec. 4), which needs per-sample gradients and so
    cannot use batch norm.
    """
    _check_norm(kind)
    if kind == "batch":
        return nn.BatchNorm2d(c)
    if kind == "layer":
        return nn.GroupNorm(1, c)
    return nn.Identity()


def needs_bias(kind: str) -> bool:
    """A layer followed by batch/layer norm needs no bias: the norm's learned shift replaces it."""
    _check_norm(kind)
    return kind in ("none", "spectral")


def maybe_spectral(module: nn.Module, kind: str) -> nn.Module:
    """With kind == 'spectral', put spectral norm (Miyato et al. 2018) on every Linear/conv in `module`.

    Works on one layer or on a whole network (Miyato et al. normalise every layer, the output layer
    included, so that the whole net is 1-Lipschitz). Apply it after `init_weights`, so that the power
    iteration starts from the final weights. Returns `module`.
    """
    _check_norm(kind)
    if kind == "spectral":
        for m in list(module.modules()):
            if isinstance(m, _WEIGHTED) and not parametrize.is_parametrized(m, "weight"):
                spectral_norm(m)  # picks dim=1 (output channels) for transposed convs by itself
    return module


def init_weights(module: nn.Module, scheme: str = "dcgan") -> nn.Module:
    """Initialise `module` in place and return it.

    'dcgan' (Radford et al. 2015, sec. 4): conv/linear weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02),
    all biases 0. 'default' keeps PyTorch's initialisation.
    """
    if scheme == "default":
        return module
    if scheme != "dcgan":
        raise ValueError(f"unknown init scheme {scheme!r}; expected 'dcgan' or 'default'")
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            # Under spectral norm `m.weight` is recomputed on every access; write to the stored original.
            weight = (m.parametrizations.weight.original if parametrize.is_parametrized(m, "weight")
                      else m.weight)
            nn.init.normal_(weight, 0.0, 0.02)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
        else:
            continue
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    return module


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016, sec. 3.2: lets D see how alike the samples of a batch are.

    f(x_i) in R^A is multiplied by a learned tensor T (A x B x C) into M_i (B x C); for each of the B
    kernels c_b(x_i, x_j) = exp(-||M_{i,b} - M_{j,b}||_1), o(x_i)_b = sum_{j != i} c_b(x_i, x_j), and the
    layer outputs [f(x_i), o(x_i)] in R^(A + B). A sample's similarity to itself (always 1) is left out.

    `released=True` is the layer of the authors' code (openai/improved-gan, mnist_svhn_cifar10/nn.py): T is
    weight-normalised (T = theta / ||theta|| * exp(s), per column) and initialised from the first training batch
    so that a sample's mean L1 distance to its nearest neighbour is 2 in every kernel, and o gets a bias b,
    initialised to minus o's mean on that batch: the kernels' scale follows the data instead of a fixed init.
    """

    def __init__(self, in_features: int, kernels: int = 100, kernel_dim: int = 5, released: bool = False):
        super().__init__()
        self.kernels, self.kernel_dim, self.released = kernels, kernel_dim, released
        self.T = nn.Parameter(torch.randn(in_features, kernels * kernel_dim) * (0.05 if released else 0.1))
        if released:
            self.log_scale = nn.Parameter(torch.zeros(kernels * kernel_dim))
            self.bias = nn.Parameter(torch.zeros(kernels))
            self.register_buffer("initialised", torch.tensor(False))

    def weight(self) -> torch.Tensor:
        if not self.released:
            return self.T
        return self.T / self.T.norm(dim=0, keepdim=True) * self.log_scale.exp()

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        m = (f @ self.weight()).view(-1, self.kernels, self.kernel_dim).transpose(0, 1)  # (B, N, C)
        # (B, N, N) L1 distances; cdist does not build the (N, N, B, C) differences (4x faster on CPU at N 256)
        dist = torch.cdist(m, m, p=1.0)
        if self.released and self.training and not bool(self.initialised) and len(f) > 1:
            dist = self._initialise(dist)
        o = (torch.exp(-dist).sum(2).t() - 1.0).to(f.dtype)                      # drop j == i: exp(0) = 1
        return torch.cat([f, o + self.bias if self.released else o], dim=1)

    @torch.no_grad()
    def _initialise(self, dist: torch.Tensor) -> torch.Tensor:
        """The released code's data-dependent init: rescale each kernel so that the mean nearest-neighbour
        distance is 2, then centre o with the bias. Returns the rescaled distances."""
        n = dist.shape[1]
        nearest = (dist + torch.eye(n, dtype=dist.dtype, device=dist.device) * 1e6).min(2).values.mean(1)  # (B,)
        half = _mean_over_ranks((0.5 * nearest).clamp_min(1e-12))   # DDP: every rank starts from the same layer
        self.log_scale.sub_(half.log().repeat_interleave(self.kernel_dim))
        dist = dist / half[:, None, None]
        self.bias.copy_(_mean_over_ranks(-(torch.exp(-dist).sum(2) - 1.0).mean(1)))
        self.initialised.fill_(True)
        return dist


def _mean_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """t averaged over the processes of a torch.distributed run (t itself outside one)."""
    import torch.distributed as tdist

    if tdist.is_available() and tdist.is_initialized():
        t = t.clone()
        tdist.all_reduce(t)
        t /= tdist.get_world_size()
    return t
