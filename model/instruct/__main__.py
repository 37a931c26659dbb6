"""`python -m model.instruct`: see model.instruct.cli."""

import sys

from model.instruct.cli import main

sys.exit(main())
