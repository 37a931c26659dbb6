"""`python -m model.train`: see `model.train.cli`."""

import sys

from model.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
