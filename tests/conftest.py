import os
import tempfile

import pytest
import torch

from helpers import tiny_ring

os.environ.setdefault("MPLBACKEND", "Agg")
# The folder loader's decoded-image cache: a throwaway one, never the user's ~/.cache.
os.environ["GANKIT_CACHE"] = tempfile.mkdtemp(prefix="gankit-test-cache-")
torch.set_num_threads(2)


@pytest.fixture
def ring_config():
    return tiny_ring

