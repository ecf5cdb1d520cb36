"""The ground floor: lib/ imports no app, so every app may stand on it."""

import ast
from pathlib import Path

LIB = Path(__file__).resolve().parent.parent / "lib"
APPS = {"jobs", "sequences", "spend", "teams", "simulator", "webhooks", "klingstudio"}


def imported_roots(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_it_imports_no_app():
    reaching_up = {f"{path.name} imports {root}" for path in sorted(LIB.glob("*.py"))
                   for root in imported_roots(path) if root in APPS}
    assert not reaching_up
