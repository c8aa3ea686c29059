"""The code passes ruff under the configuration in pyproject.toml (pyflakes, pycodestyle's errors
and warnings, bugbear).  A lint finding is a test failure."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_passes():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "kernel_model", "procfs", "procsim",
                             "tests", "bench", "examples", "mount.py"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All checks passed" in result.stdout
