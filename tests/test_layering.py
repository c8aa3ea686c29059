"""Data flows one way: kernel_model <- procfs backends <- FUSE adapter <- procsim.

The model imports neither FUSE nor trio; the procfs backends import no FUSE binding and no event
loop; only the adapter (procfs/fuse_adapter.py) speaks pyfuse3 and awaits on trio."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUSE_BINDINGS = {"fuse", "pyfuse3"}
FORBIDDEN = {"kernel_model": FUSE_BINDINGS | {"trio", "procfs", "procsim"},
             "procfs": FUSE_BINDINGS | {"trio", "procsim"}}
ADAPTER = ROOT / "procfs" / "fuse_adapter.py"


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
            allowed = {"pyfuse3", "trio"} if path == ADAPTER else set()
            bad = imported_modules(path) & (forbidden - allowed)
            assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_adapter_is_the_only_fuse_speaker_of_procfs():
    speakers = [p.name for p in (ROOT / "procfs").glob("*.py") if imported_modules(p) & FUSE_BINDINGS]
    assert speakers == ["fuse_adapter.py"]


def test_the_simulation_runner_needs_no_event_loop():
    """Programs are stepped by hand: `procsim run` and the tests never start trio."""
    assert "trio" not in imported_modules(ROOT / "procsim" / "runner.py")

