"""The public name `procsim.pytest_plugin`, kept working: it is `procsim.clients.pytest_plugin`, the same module."""
import sys

from .clients import pytest_plugin as _module

sys.modules[__name__] = _module
