"""Pure loss functions: tensors in, scalar tensor out. Each cites its paper and equation."""
from .adversarial import (ebgan_d_loss, ebgan_g_loss, feature_matching_loss, gan_d_loss, gan_g_loss_minimax,
                          gan_g_loss_nonsaturating, lsgan_d_loss, lsgan_g_loss, pullaway_term,
                          wasserstein_d_loss, wasserstein_g_loss)
from .divergences import DIVERGENCES, Divergence, fgan_d_loss, fgan_g_loss, get_divergence, variational_bound
from .semi import log_d_fake, log_d_real, supervised_loss, unsupervised_loss
from .translation import (dualgan_adversarial_loss, dualgan_critic_loss, least_squares_g_loss,
                          reconstruction_loss)
from .penalties import gradient_penalty, historical_average_penalty, interpolate, perturb

__all__ = ["gan_d_loss", "gan_g_loss_minimax", "gan_g_loss_nonsaturating", "wasserstein_d_loss",
           "wasserstein_g_loss", "lsgan_d_loss", "lsgan_g_loss", "ebgan_d_loss", "ebgan_g_loss", "pullaway_term",
           "feature_matching_loss", "DIVERGENCES", "Divergence", "fgan_d_loss", "fgan_g_loss", "get_divergence",
           "variational_bound", "log_d_real", "log_d_fake", "supervised_loss", "unsupervised_loss",
           "gradient_penalty", "historical_average_penalty", "interpolate", "perturb",
           "dualgan_critic_loss", "dualgan_adversarial_loss", "reconstruction_loss", "least_squares_g_loss"]
