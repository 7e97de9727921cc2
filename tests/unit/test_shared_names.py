"""A helper that two modules use has one public name, used as such: no layer
imports another layer's private function (``layers.grid_edit._check_version``
was), and no browser test renames the conftest's helpers (``db_rows as _db``),
so that one helper reads the same everywhere."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path):
    """(module, name, alias) of each ``from module import name as alias``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module, alias.name, alias.asname)
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            for alias in node.names]


@pytest.mark.parametrize("path", sorted((ROOT / "layers").glob("*.py")),
                         ids=lambda p: p.name)
def test_no_layer_imports_a_private_name_of_another(path):
    # a module's private helper (a private module, layers._pgbin, is a home of
    # its own: its names are its public face)
    private = [f"{module}.{name}" for module, name, _ in _imports(path)
               if (module or "").startswith("layers.") and name.startswith("_")
               and not module.rsplit(".", 1)[-1].startswith("_")]
    assert private == []


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "browser").glob("test_*.py")),
                         ids=lambda p: p.name)
def test_browser_tests_use_the_conftests_names(path):
    renamed = [f"{name} as {alias}" for module, name, alias in _imports(path)
               if module == "tests.browser.conftest" and alias not in (None, name)]
    assert renamed == []
