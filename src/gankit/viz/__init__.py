"""Pictures: sample grids, scatter plots of 2-D samples, training GIFs, loss curves."""
from .grid import image_grid, save_samples_png
from .animate import make_gif
from .plots import plot_losses

__all__ = ["image_grid", "save_samples_png", "make_gif", "plot_losses"]
