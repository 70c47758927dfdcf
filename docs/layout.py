"""Regenerate the README's "Layout" section from the source tree: each module's and package's first docstring line.

Usage: ``python docs/layout.py`` prints the block; ``python docs/layout.py --write`` replaces the block between
the ``<!-- layout -->`` markers in README.md. tests/test_architecture.py checks that the README is up to date.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "muop"
#: The layers top-down, as ``pyproject.toml``'s import-linter contract lists them bottom-up.
ORDER = ["errors", "utils", "core", "models", "adapters", "parametrization", "data", "config", "training", "study"]
ORDER += ["workflows", "cli"]
START, END = "<!-- layout -->", "<!-- /layout -->"


def _summary(path: Path) -> str:
    """The first sentence of the module's docstring (its first paragraph, up to the first full stop)."""
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    para = " ".join(doc.strip().split("\n\n")[0].split())
    head, dot, _ = para.partition(". ")
    return head + "." if dot else para


def _rank(path: Path) -> tuple:
    name = path.stem if path.is_file() else path.name
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def layout() -> str:
    """The layout block: one line per package and module, indented by depth, with its first docstring line."""
    rows = [("src/muop/", _summary(PACKAGE / "__init__.py"))]

    def walk(folder: Path, depth: int) -> None:
        entries = [p for p in folder.iterdir() if p.name != "__pycache__" and (p.is_dir() or p.suffix == ".py")]
        for p in sorted(entries, key=_rank):
            if p.name in ("__init__.py", "__main__.py") or (p.is_dir() and not (p / "__init__.py").exists()):
                continue
            if p.is_dir():
                rows.append(("  " * depth + p.name + "/", _summary(p / "__init__.py")))
                walk(p, depth + 1)
            else:
                rows.append(("  " * depth + p.name, _summary(p)))

    walk(PACKAGE, 1)
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{text}".rstrip() for name, text in rows)


def readme_with_layout(readme: str) -> str:
    """``readme`` with the block between the layout markers replaced by :func:`layout`."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n```\n{layout()}\n```\n{END}{tail}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="update README.md in place")
    args = ap.parse_args()
    if args.write:
        path = ROOT / "README.md"
        path.write_text(readme_with_layout(path.read_text()))
        print(f"updated {path}")
    else:
        print(layout())


if __name__ == "__main__":
    main()
