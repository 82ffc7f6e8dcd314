"""Package hygiene (issue 8, item 5): every module imports on its own, no import cycles, no private
names across modules, callable modules, concrete return types, ``py.typed``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

import tokenfrontier

PACKAGE_DIR = Path(tokenfrontier.__file__).parent
ROOT = Path(__file__).resolve().parents[1]
#: A Streamlit script: importing it runs the whole app (tests/test_dashboard.py covers it).
NOT_IMPORTABLE = {"tokenfrontier.views.dashboard.app"}
CALLABLE_MODULES = ("design", "footprint", "frontier", "plan", "predict", "reproduce", "roofline")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE_DIR.rglob("*.py"))}


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- (a) every module imports first, in a fresh interpreter ------------------------------------
def test_every_module_imports_on_its_own():
    names = sorted(set(MODULES) - NOT_IMPORTABLE)
    code = f"""
import importlib, json, sys, traceback
failed = {{}}
for name in {names!r}:
    for loaded in [m for m in sys.modules if m == "tokenfrontier" or m.startswith("tokenfrontier.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed[name] = traceback.format_exc(limit=-3)
print(json.dumps(failed))
"""
    failed = json.loads(_run(code).strip().splitlines()[-1])
    assert not failed, "\n".join(f"{k}:\n{v}" for k, v in failed.items())


# -- (b) no import cycles among module-level imports -------------------------------------------
def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str | None, level: int, importer: str) -> str:
    if not level:
        return module or ""
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    base = package.rsplit(".", level - 1)[0] if level > 1 else package
    return f"{base}.{module}" if module else base


def _imports(importer: str, nodes: list[ast.stmt] | None = None) -> list[tuple[str, str]]:
    """(module, name) pairs imported at module level (not in functions, classes, TYPE_CHECKING)."""
    if nodes is None:
        nodes = ast.parse(MODULES[importer].read_text()).body
    out: list[tuple[str, str]] = []
    for node in nodes:
        if isinstance(node, ast.If):
            out += _imports(importer, node.orelse)
            if not _is_type_checking(node.test):
                out += _imports(importer, node.body)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                out += _imports(importer, block)
        elif isinstance(node, ast.With):
            out += _imports(importer, node.body)
        elif isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, importer)
            out += [(base, a.name) for a in node.names]
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for importer in MODULES:
        targets = set()
        for module, name in _imports(importer):
            for candidate in (f"{module}.{name}", module):  # ``from . import api`` imports a module
                if candidate in MODULES and candidate != importer:
                    targets.add(candidate)
                    break
        graph[importer] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_relative_and_absolute_imports():
    graph = _graph()
    assert "tokenfrontier.catalog" in graph["tokenfrontier.profiles"]  # from .catalog import ...
    assert "tokenfrontier.catalog" in graph["tokenfrontier.economics.tco"]  # from ..catalog import
    assert "tokenfrontier.api" in graph["tokenfrontier.economics.api"]
    assert "tokenfrontier.economics.api" in graph["tokenfrontier.views.dashboard.app"]  # absolute


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "module-level import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


# -- (c) no private names imported from another module -----------------------------------------
def private_imports() -> list[str]:
    """``from .x import _y`` anywhere in a module (functions included), x another package module."""
    found = []
    for importer, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            base = _resolve(node.module, node.level, importer)
            if not (base == "tokenfrontier" or base.startswith("tokenfrontier.")) or base == importer:
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{importer}:{node.lineno}: from {base} import {alias.name}")
    return found


def test_private_import_finder_finds_one(tmp_path, monkeypatch):
    path = tmp_path / "fake.py"
    path.write_text("def f():\n    from .catalog import _private, __version__\n")
    monkeypatch.setitem(MODULES, "tokenfrontier.fake", path)
    assert private_imports() == ["tokenfrontier.fake:2: from tokenfrontier.catalog import _private"]


def test_no_private_names_across_modules():
    found = private_imports()
    assert not found, "private names imported from another module:\n" + "\n".join(found)


# -- callable modules --------------------------------------------------------------------------
def test_colliding_names_are_modules_that_call_the_api():
    code = """
import json, types
import tokenfrontier.footprint as fp
import tokenfrontier as tf
from tokenfrontier import roofline
out = {"module": isinstance(fp, types.ModuleType), "same": fp is tf.footprint,
       "roofline": isinstance(roofline, types.ModuleType) and roofline is tf.roofline,
       "result": type(tf.footprint("llama-3.1-8b")).__name__,
       "table": type(tf.roofline(dtype="fp8")).__name__,
       "core": fp.footprint.__module__, "deploy": tf.deploy.__module__}
print(json.dumps(out))
"""
    out = json.loads(_run(code).strip().splitlines()[-1])
    assert out == {
        "module": True,
        "same": True,
        "roofline": True,
        "result": "Footprint",
        "table": "Table",
        "core": "tokenfrontier.footprint",
        "deploy": "tokenfrontier.api",
    }


@pytest.mark.parametrize("name", CALLABLE_MODULES)
def test_every_callable_module(name):
    import importlib

    module = importlib.import_module(f"tokenfrontier.{name}")
    assert isinstance(module, types.ModuleType) and callable(module)
    assert getattr(tokenfrontier, name) is module


def test_import_tokenfrontier_loads_no_module_of_its_own():
    code = "import sys, tokenfrontier\nprint(sorted(m for m in sys.modules if 'tokenfrontier.' in m))"
    assert _run(code).strip() == "[]"


# -- concrete return types ---------------------------------------------------------------------
def _api_functions() -> dict[str, object]:
    from tokenfrontier import api
    from tokenfrontier.economics import api as econ

    return {n: getattr(econ if n in tokenfrontier.ECONOMICS else api, n) for n in tokenfrontier.__all__}


@pytest.mark.parametrize("name", tokenfrontier.__all__)
def test_api_function_returns_a_concrete_type(name):
    returns = _api_functions()[name].__annotations__.get("return")  # type: ignore[attr-defined]
    assert returns not in (None, "Any", "object"), f"{name} -> {returns}"


# -- py.typed ----------------------------------------------------------------------------------
def test_package_ships_py_typed():
    assert (PACKAGE_DIR / "py.typed").is_file()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["tokenfrontier"]


def test_unknown_id_error_pickles():
    # errors raised in a process-pool or Ray worker travel back pickled (sweep, plan executors)
    import pickle

    from tokenfrontier.errors import UnknownIdError

    err = UnknownIdError("model", "lama-3", ["llama-3.1-8b", "qwen3-32b"])
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is UnknownIdError and str(back) == str(err) and back.valid == err.valid
