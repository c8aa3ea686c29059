"""docs/testing.md shows the example files verbatim; keep them in step."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_testing_guide_embeds_the_example_files_unchanged():
    doc = (ROOT / "docs" / "testing.md").read_text()
    for name in ("reader.py", "test_reader.py"):
        source = (ROOT / "examples" / "proc_reader" / name).read_text()
        assert f"```python\n{source}```" in doc, f"docs/testing.md is out of step with {name}"


def test_docs_stand_on_their_own():
    """No doc points into the developers' reference folder, which is not in the repository."""
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        assert "shared/" not in doc.read_text(), f"{doc.name} links outside the repository"
