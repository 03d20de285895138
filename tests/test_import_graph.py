"""The package's imports run one way: no module imports a module that imports it back.

Every import statement counts, at module level, inside functions and under ``TYPE_CHECKING`` alike: a cycle hidden
in a function still ties the two modules together (each needs the other to be read, tested or moved). A package's
``__init__`` is a module of its own here: a submodule that imports names from its package while the package imports
that submodule closes a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def module_files(src: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``src/package`` (a package is its ``__init__``)."""
    modules = {}
    for file in sorted((src / package).rglob("*.py")):
        parts = list(file.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = file
    return modules


def imported_modules(name: str, file: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` (at ``file``) imports anywhere in its text."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def add(target: str) -> None:
        while target and target not in modules:  # a name inside a module: the module that defines it
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)

    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:  # ``from pkg import submodule`` imports the submodule, not pkg's __init__
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in modules else source)
    return found


def import_cycles(src: Path, package: str) -> list[list[str]]:
    """The strongly connected groups of two or more modules of the import graph (Tarjan), each sorted."""
    modules = module_files(src, package)
    edges = {name: imported_modules(name, file, modules) for name, file in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(modules):
        if node not in index:
            visit(node)
    return cycles


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_no_module_of_the_package_imports_itself_back():
    cycles = import_cycles(SRC, "mosaicbert")
    assert not cycles, "import cycles (each group imports itself back): " + "; ".join(" <-> ".join(c) for c in cycles)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/low.py": "def f():\n    from pkg.high import g\n    return g\n",
        "pkg/high.py": "from .low import f\n\ndef g():\n    return f\n",
        "pkg/apart.py": "from pkg import low\n",
    })
    assert import_cycles(tmp_path, "pkg") == [["pkg.high", "pkg.low"]]


def test_a_submodule_importing_names_from_its_package_that_imports_it_is_a_cycle(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from .registry import REGISTRY\n",
        "pkg/registry.py": "from .family import FAMILY\nREGISTRY = {'a': FAMILY}\n",
        "pkg/family.py": "FAMILY = 1\n\ndef lookup():\n    from . import REGISTRY\n    return REGISTRY\n",
    })
    assert import_cycles(tmp_path, "pkg") == [["pkg", "pkg.family", "pkg.registry"]]


def test_importing_a_submodule_from_a_package_is_not_importing_its_init(tmp_path):
    _write(tmp_path, {
        "pkg/__init__.py": "from .b import B\n",
        "pkg/a.py": "from pkg import b\n",
        "pkg/b.py": "B = 1\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import b\n",
    })
    assert import_cycles(tmp_path, "pkg") == []
