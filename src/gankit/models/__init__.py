"""Models, one file per paper. Importing this package registers them all."""
from .base import Batch, Model, ModelOptions
from . import dmwgan, dragan, ebgan, fgan, gan, infogan, lsgan, ssgan, wgan, wgan_gp  # noqa: F401  (registration)

__all__ = ["Batch", "Model", "ModelOptions", "build_model"]


def build_model(opts, data, device="cpu", horizon=None) -> Model:
    from ..registry import lookup

    return lookup("model", opts.name).obj(opts, data, device=device, horizon=horizon)
