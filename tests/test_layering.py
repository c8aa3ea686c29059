"""Data flows one way: kernel_model <- procfs <- procsim. The model imports neither FUSE nor trio."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"kernel_model": {"fuse", "trio", "procfs", "procsim"}, "procfs": {"trio", "procsim"}}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_each_layer_imports_only_what_lies_below_it():
    for package, forbidden in FORBIDDEN.items():
        for path in (ROOT / package).glob("*.py"):
            bad = imported_modules(path) & forbidden
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
