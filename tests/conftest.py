import os

import pytest
import torch

from helpers import tiny_ring

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(2)


@pytest.fixture
def ring_config():
    return tiny_ring
