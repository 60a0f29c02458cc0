"""Models, one file per paper. Importing this package registers them all."""
from .base import Batch, Model, ModelOptions
from . import (cgan, cvae, cvaegan, dmwgan, dragan, dualgan, ebgan, fgan, gan, infogan, lsgan, ssgan,  # noqa: F401
               wgan, wgan_gp)  # (registration)

__all__ = ["Batch", "Model", "ModelOptions", "build_model"]


def build_model(opts, data, device="cpu", horizon=None) -> Model:
    from ..registry import lookup

    cls = lookup("model", opts.name).obj
    if (data.kind == "pair") != getattr(cls, "two_domains", False):
        from ..errors import ConfigError

        raise ConfigError(f"Model {opts.name!r} and dataset {data.name!r} do not fit: the dataset 'pair' holds two "
                          "image domains, for translation models (dualgan), which need it. Use a single-domain "
                          "dataset (mnist, folder, ...) or model: dualgan.")
    _check_size(cls, opts, data, horizon)
    try:
        return cls(opts, data, device=device, horizon=horizon)
    except (MemoryError, RuntimeError) as e:
        if not _too_big(e):
            raise
        raise _size_error(opts, e) from None


def _too_big(e: BaseException) -> bool:
    return isinstance(e, MemoryError) or any(w in str(e) for w in ("allocate", "overflow"))


def _size_error(opts, e: BaseException):
    from ..errors import ConfigError

    first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    return ConfigError(f"The {opts.name!r} networks of this config do not fit in memory ({first}). Lower the "
                       "network sizes (model.z_dim, the generator/discriminator hidden or width).")


def _check_size(cls, opts, data, horizon) -> None:
    """Build the networks on the meta device first (no memory) and refuse sizes that cannot fit: a typo such
    as hidden=[1000000000] is named, instead of an allocator error or a machine swapping for minutes. A model
    whose construction needs real tensors (data-dependent init) is not estimated."""
    import torch

    from ..memory import check_fits

    rng = torch.get_rng_state()
    try:
        with torch.device("meta"):
            meta = cls(opts, data, device="meta", horizon=horizon)
        n = sum(p.numel() for net in meta.nets.values() for p in net.parameters())
    except Exception as e:
        if _too_big(e):
            raise _size_error(opts, e) from None
        return
    finally:
        torch.set_rng_state(rng)
    # weights, gradients and up to two optimizer moments, float32
    check_fits(n * 16, f"The {opts.name!r} networks of this config ({n:,} parameters)",
               "Lower the network sizes (model.z_dim, the generator/discriminator hidden or width).")
