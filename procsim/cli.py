"""The public name `procsim.cli`, kept working: it is `procsim.clients.cli`, the same module."""
import sys

from .clients import cli as _module

sys.modules[__name__] = _module
