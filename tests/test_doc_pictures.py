"""The pictures the docs embed are what the code draws now, and every one is embedded."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_committed_pictures_are_what_the_code_draws():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "doc_pictures.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_every_picture_is_rendered_and_embedded():
    doc = (ROOT / "docs" / "debugging-zombies.md").read_text()
    embedded = set(re.findall(r"\(pictures/([\w-]+)\.svg\)", doc))
    drawn = {p.stem for p in (ROOT / "docs" / "pictures").glob("*.dot")}
    assert embedded == drawn and len(drawn) == 6
    for name in drawn:
        svg = (ROOT / "docs" / "pictures" / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
