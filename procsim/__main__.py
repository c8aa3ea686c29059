"""`python -m procsim ...` is the `procsim` command line."""
import sys

from .cli import main

sys.exit(main())
