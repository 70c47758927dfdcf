"""The package's shape, checked mechanically: layers (import-linter), lint and format (ruff), size limits,
module docstrings, no function-local imports of muop modules, and the deprecated old module paths.

The layers are the contract in ``pyproject.toml`` (``[tool.importlinter]``): each package imports
only the packages above it in ``muop/__init__.py``'s list. The contract is shown to fail on a
deliberately added upward import, so a passing check means something.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "muop"
BIN = Path(sys.executable).parent
MODULES = sorted(SRC.rglob("*.py"))
LINTED = ["src", "tests", "benchmarks", "experiments", "docs"]
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60
#: muop modules that may be imported inside a function: they import an optional extra at import time.
OPTIONAL_EXTRAS = {"_ray_search": "imports ray (pip install 'muop[ray]')"}


def _tool(name: str) -> str:
    """The console script ``name`` of this interpreter's environment (ruff, lint-imports)."""
    path = BIN / name
    if not path.exists():
        path = shutil.which(name)
        assert path, f"{name} is not installed: pip install -e '.[dev]'"
    return str(path)


def _lint_imports(cwd: Path, src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [_tool("lint-imports"), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_layers_contract_is_kept():
    r = _lint_imports(ROOT, ROOT / "src")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_layers_contract_catches_an_upward_import(tmp_path):
    """A core module that imports the training layer (an upward import) breaks the contract."""
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    rules = tmp_path / "src" / "muop" / "core" / "rules.py"
    rules.write_text(rules.read_text() + "\nfrom ..training import trainer  # deliberately upward\n")
    r = _lint_imports(tmp_path, tmp_path / "src")
    assert r.returncode != 0
    assert "muop.core.rules -> muop.training.trainer" in r.stdout, r.stdout[-3000:]


def test_ruff_check_and_format_are_clean():
    ruff = _tool("ruff")
    check = subprocess.run([ruff, "check", *LINTED], cwd=ROOT, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-4000:]
    fmt = subprocess.run([ruff, "format", "--check", *LINTED], cwd=ROOT, capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout[-4000:]


def _functions(tree: ast.AST):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_size_docstring_and_imports(path):
    """Each module: at most 400 lines, a docstring that says its job, functions of at most 60 lines, and no
    function-local import of a muop module (such an import is how a cycle hides)."""
    text = path.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    assert ast.get_docstring(tree), "a module starts with a docstring that says its one job"
    long = {
        f.name: f.end_lineno - f.lineno + 1 for f in _functions(tree) if f.end_lineno - f.lineno >= MAX_FUNCTION_LINES
    }
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
    local = [
        f"{f.name}: {ast.unparse(n)}"
        for f in _functions(tree)
        for n in ast.walk(f)
        if isinstance(n, ast.ImportFrom)
        and (n.level > 0 or (n.module or "").startswith("muop"))
        and (n.module or "").rpartition(".")[2] not in OPTIONAL_EXTRAS
    ]
    assert not local, f"function-local imports of muop modules: {local}"


@pytest.mark.parametrize("old", ["muop.trainer", "muop.workers", "muop.sweep", "muop.fno", "muop.train"])
def test_old_module_paths_still_import_with_a_deprecation_warning(old):
    from muop._compat import MOVED

    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert any(issubclass(w.category, DeprecationWarning) and MOVED[old][0] in str(w.message) for w in caught)
    home = importlib.import_module(MOVED[old][0])
    public = [n for n in getattr(home, "__all__", []) if hasattr(home, n)]
    assert public and all(getattr(module, n) is getattr(home, n) for n in public)


def test_old_names_users_hold_resolve_to_the_same_objects():
    import muop.study
    import muop.training

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from muop.trainer import build
        from muop.workers import run_study

    assert build is muop.training.build and run_study is muop.study.run_study


def test_readme_layout_is_the_tree():
    """The README's layout block is what ``docs/layout.py`` makes from the modules' docstrings."""
    spec = importlib.util.spec_from_file_location("layout", ROOT / "docs" / "layout.py")
    layout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layout)
    readme = (ROOT / "README.md").read_text()
    assert layout.readme_with_layout(readme) == readme, "run: python docs/layout.py --write"


@pytest.mark.parametrize("package", sorted({p.parent for p in MODULES if p.name == "__init__.py"}), ids=str)
def test_no_package_hides_a_submodule_behind_a_name(package):
    """``import muop.study.tune as m`` must give the module: a package that re-exports a function named
    like one of its modules (``tune`` from ``tune.py``) would hand out the function instead."""
    name = ".".join(("muop", *package.relative_to(SRC).parts))
    pkg = importlib.import_module(name)
    for mod in sorted(package.glob("*.py")):
        if mod.stem in ("__init__", "__main__"):
            continue
        sub = importlib.import_module(f"{name}.{mod.stem}")
        assert getattr(pkg, mod.stem) is sub, f"{name}.{mod.stem} is {getattr(pkg, mod.stem)!r}, not the module"
