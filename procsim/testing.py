"""The public name `procsim.testing`, kept working: it is `procsim.clients.testing`, the same module."""
import sys

from .clients import testing as _module

sys.modules[__name__] = _module
