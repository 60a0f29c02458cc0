"""`python -m gankit` (and `torchrun ... -m gankit train RECIPE`): the command line."""
import sys

from .cli import main

sys.exit(main())
