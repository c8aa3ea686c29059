"""Run every tests/shell/*.sh against a real mount with the scenario and personality it names."""
import os
import re
import sys
from pathlib import Path

import pytest

from ..conftest import run

SHELL_DIR = Path(__file__).resolve().parent.parent / "shell"
SCRIPTS = sorted(p for p in SHELL_DIR.glob("*.sh") if p.name != "lib.sh")


def header(script: Path, key: str, default: str) -> str:
    match = re.search(rf"^# {key}: (.+)$", script.read_text(), re.M)
    return match.group(1) if match else default


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_shell_script(mount_system, script):
    mounted = mount_system(scenario=header(script, "scenario", "default"),
                           personality=header(script, "personality", "serenity"),
                           extra_args=header(script, "options", "").split())
    procsim = Path(sys.executable).with_name("procsim")
    env = {**os.environ, "MNT": str(mounted.path),
           "PROCSIM": str(procsim) if procsim.exists() else f"{sys.executable} -m procsim.clients.cli"}
    result = run(["bash", str(script)], env=env, cwd="/")
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}\n{result.stderr}\n{mounted.log()[-2000:]}"
    assert "ok - " in result.stdout
