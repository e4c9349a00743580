"""The layering of the package, pinned: dependencies point down, and nothing imports in a circle.

Every module under ``src/leadcache`` is parsed (``ast``, nothing is imported) and each import it
makes, at module level, inside a function or under ``TYPE_CHECKING``, is checked against the
layers of docs/architecture.md::

    types, errors, clock, settings, fields, logs, formula,  (0: the vocabulary)
    airtable_wire
    store, catalog                                          (1: persistence)
    airtable                                                (2: the boundary to Airtable)
    sync                                                    (3: the engine)
    cache, backup                                           (4: the agents' API, backups)
    service, metrics, console                               (5: the service)
    cli, __init__, __main__, and any new top-level unit     (6: front doors)

A module may import its own layer or a lower one; cycles are refused at every level (the
emulator's type-only cycle between its modules is the one allowed exception). The emulator
imports nothing from the cache, the store, the engine or the front doors; what it shares with
the front door (the formula engine, Airtable's wire format in ``airtable_wire``) imports
nothing of them either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "leadcache"

#: Top-level unit -> layer. Units not listed are front doors (the top layer).
LAYERS: dict[str, int] = {
    "types": 0,
    "errors": 0,
    "clock": 0,
    "settings": 0,
    "fields": 0,
    "logs": 0,
    "formula": 0,
    "airtable_wire": 0,
    "store": 1,
    "catalog": 1,
    "airtable": 2,
    "sync": 3,
    "cache": 4,
    "backup": 4,
    "service": 5,
    "metrics": 5,
    "console": 5,
}
TOP = 6
#: Units that must never be imported from the store, the Airtable boundary or the engine.
ABOVE_THE_ENGINE = ("cache", "cli", "service", "demo", "metrics")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((SRC / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def _walk(tree: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(tree):
        inner = type_only or (isinstance(child, ast.If) and _is_type_checking(child))
        yield child, inner
        yield from _walk(child, inner)


@cache
def imports_of(module: str) -> tuple[tuple[str, bool], ...]:
    """(imported leadcache module, whether only under TYPE_CHECKING) for one module."""
    path = modules()[module]
    known = modules()
    is_package = path.name == "__init__.py"
    found: list[tuple[str, bool]] = []
    for node, type_only in _walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            # ``from . import x`` imports the submodule x when there is one.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            if target == PACKAGE or target.startswith(PACKAGE + "."):
                found.append((target, type_only))
    return tuple(found)


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def layer(module: str) -> int:
    return LAYERS.get(unit(module), TOP)


def test_the_walk_sees_the_imports_it_must() -> None:
    # Guards the test itself: relative, function-level and TYPE_CHECKING imports are found.
    assert ("leadcache.store.base", False) in imports_of("leadcache.sync.reconcile")
    assert any(t.startswith("leadcache.sync") for t, _ in imports_of("leadcache.cache"))
    assert ("leadcache.service.loop", True) in imports_of("leadcache.metrics")
    assert len(modules()) > 50


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_point_down(module: str) -> None:
    if unit(module) == "emulator":
        return  # its own rule below
    upward = [
        target
        for target, _type_only in imports_of(module)
        if unit(target) != unit(module) and layer(target) > layer(module)
    ]
    assert not upward, f"{module} (layer {layer(module)}) imports upwards: {upward}"


@pytest.mark.parametrize("lower", ["store", "airtable", "sync", "catalog"])
def test_nothing_below_the_agents_api_imports_it(lower: str) -> None:
    offenders = {
        (module, target)
        for module in modules()
        if unit(module) == lower
        for target, _ in imports_of(module)
        if unit(target) in ABOVE_THE_ENGINE
    }
    assert not offenders


def test_the_emulator_imports_nothing_of_the_cache() -> None:
    allowed = {"emulator", "formula", "airtable_wire", "errors", "__init__"}
    offenders = {
        (module, target)
        for module in modules()
        if unit(module) == "emulator"
        for target, _ in imports_of(module)
        if unit(target) not in allowed
    }
    assert not offenders


#: What the emulator shares with the front door -> all it may import: neither may bring the
#: cache (or the other server) into the emulator.
SHARED_WITH_THE_EMULATOR = {"formula": {"formula"}, "airtable_wire": {"airtable_wire", "formula"}}


@pytest.mark.parametrize("shared", sorted(SHARED_WITH_THE_EMULATOR))
def test_what_the_emulator_shares_imports_nothing_else(shared: str) -> None:
    allowed = SHARED_WITH_THE_EMULATOR[shared]
    offenders = {
        (module, target)
        for module in modules()
        if unit(module) == shared
        for target, _ in imports_of(module)
        if unit(target) not in allowed
    }
    assert not offenders


def _cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_top_level_units() -> None:
    edges: dict[str, set[str]] = {}
    for module in modules():
        for target, _ in imports_of(module):
            if unit(target) != unit(module) and unit(module) != "__init__":
                edges.setdefault(unit(module), set()).add(unit(target))
    assert _cycles(edges) == []


def test_no_cycle_between_modules() -> None:
    edges: dict[str, set[str]] = {}
    for module in modules():
        for target, type_only in imports_of(module):
            if type_only and unit(module) == "emulator" and unit(target) == "emulator":
                continue  # the emulator's type-only cycle may stay
            if target != module:
                edges.setdefault(module, set()).add(target)
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []
