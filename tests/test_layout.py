"""The package's layout: its import graph, built from the sources, has no cycle and points one way.

Edges are the ``import`` statements the package runs, those inside functions included (a deferred
import that closes a cycle is a cycle all the same); imports under ``if TYPE_CHECKING:`` only name
types, and are left out.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import django_slack_bolt

PACKAGE = Path(django_slack_bolt.__file__).resolve().parent
ROOT = Path(__file__).resolve().parent.parent
NAME = "django_slack_bolt"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path for path in sorted(PACKAGE.rglob("*.py")) if "migrations" not in path.parts
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _runtime_imports(ast.Module([child], [])))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        else:
            yield from _runtime_imports(node)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The package's modules that ``node``, in ``module``, imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        if node.level:
            is_package = MODULES[module].name == "__init__.py"
            base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        # `from package import module` imports the module; `from module import name`, the module.
        names = [
            f"{source}.{alias.name}" if f"{source}.{alias.name}" in MODULES else source
            for alias in node.names
        ]
    for name in names:
        if name == NAME or name.startswith(NAME + "."):
            # `import a.b.c` runs a.b.c: the nearest module the package has.
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name != module:
                yield name


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[module] = {target for node in _runtime_imports(tree) for target in _targets(module, node)}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph()


def test_the_graph_sees_the_package() -> None:
    # A parser that found no edges would pass every test below.
    assert f"{NAME}.http.core" in GRAPH[f"{NAME}.http.sync_handler"]
    assert f"{NAME}.http.core" in GRAPH[f"{NAME}.http.async_handler"]
    assert f"{NAME}.conf" in GRAPH[f"{NAME}.oauth.installation_store"]
    # A deferred import counts, a TYPE_CHECKING one does not.
    assert f"{NAME}.http.async_handler" in GRAPH[f"{NAME}.http.app_loader"]
    assert f"{NAME}.http.async_handler" not in GRAPH[f"{NAME}.http.views"]


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def _imports_of(prefix: str) -> set[str]:
    return {target for module, targets in GRAPH.items() if module.startswith(prefix) for target in targets}


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        # The HTTP adapter knows nothing of installations, OAuth or the test kit.
        (f"{NAME}.http", (f"{NAME}.oauth", f"{NAME}.testing", f"{NAME}.checks", f"{NAME}.admin")),
        # The ORM stores and authorize know nothing of the HTTP adapter or the test kit.
        (f"{NAME}.oauth", (f"{NAME}.http", f"{NAME}.testing", f"{NAME}.checks", f"{NAME}.admin")),
    ],
)
def test_layers_do_not_import_each_other(layer: str, forbidden: tuple[str, ...]) -> None:
    wrong = sorted(target for target in _imports_of(layer) if target.startswith(forbidden))
    assert wrong == []


def test_the_request_core_knows_nothing_of_sync_or_async() -> None:
    http = f"{NAME}.http"
    faces = {f"{http}.sync_handler", f"{http}.async_handler"}
    assert GRAPH[f"{http}.core"].isdisjoint(faces)
    # The guard knows nothing of Django: it sits on Bolt's side only.
    assert GRAPH[f"{http}.guard"] == {f"{http}.bolt_app", f"{http}.payload"}
    assert GRAPH[f"{http}.payload"] == {f"{http}.bolt_app"}
    # The two faces import nothing from each other.
    assert f"{http}.async_handler" not in GRAPH[f"{http}.sync_handler"]
    assert f"{http}.sync_handler" not in GRAPH[f"{http}.async_handler"]


def test_only_the_async_modules_need_aiohttp() -> None:
    # Bolt's async side needs aiohttp, an optional extra (`async`): a sync project has none.
    sync_modules = [
        module
        for module in MODULES
        if not module.rsplit(".", 1)[-1].startswith("async") and module != f"{NAME}.http.asyncio_runner"
    ]
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"  # any import of aiohttp now raises ImportError
        "import django; django.setup()\n"
        "import importlib\n"
        f"for name in {sync_modules!r}: importlib.import_module(name)\n"
        "assert 'slack_bolt.async_app' not in sys.modules\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(sync_modules) > 30
