"""Pure loss functions: tensors in, scalar tensor out. Each cites its paper and equation."""
from .adversarial import (gan_d_loss, gan_g_loss_minimax, gan_g_loss_nonsaturating,
                          wasserstein_d_loss, wasserstein_g_loss)
from .penalties import gradient_penalty, interpolate

__all__ = ["gan_d_loss", "gan_g_loss_minimax", "gan_g_loss_nonsaturating", "wasserstein_d_loss",
           "wasserstein_g_loss", "gradient_penalty", "interpolate"]
