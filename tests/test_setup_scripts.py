"""The set-up scripts are idempotent: on a machine that has everything they install nothing.

Under `pipefail`, `ldconfig -p | grep -q` failed now and then (grep -q exits at the first match
and ldconfig dies of SIGPIPE), so the scripts ran apt-get for nothing -- and failed for a user
without sudo."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["install-system-deps", "install-reader-tools"])
def test_install_scripts_find_everything_every_time(script):
    for _ in range(10):  # the SIGPIPE flake showed within a few runs
        result = subprocess.run(["bash", str(ROOT / "scripts" / script)], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and result.stdout == "" and result.stderr == "", result
