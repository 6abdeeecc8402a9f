"""The shape of the code: pipelines compose public rnnkit parts only."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _private_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "rnnkit" and any(p.startswith("_") for p in parts[1:]):
                found.append(f"{path.name}:{node.lineno}: {name}")
    return found


def test_pipelines_and_examples_import_no_private_rnnkit_module():
    files = sorted((ROOT / "pipelines").glob("*.py")) + sorted((ROOT / "examples").glob("*.py"))
    assert files
    offenders = [hit for path in files for hit in _private_imports(path)]
    assert not offenders, "\n".join(offenders)


def test_the_check_sees_a_private_import(tmp_path):
    bad = tmp_path / "probe.py"
    bad.write_text("from rnnkit._quiet import quiet_tensorflow_startup\nimport rnnkit.data._io\n")
    assert len(_private_imports(bad)) == 3
