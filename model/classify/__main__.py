"""`python -m model.classify`: see `model.classify.cli`."""

import sys

from model.classify.cli import main

if __name__ == "__main__":
    sys.exit(main())
