"""The emulator imports nothing from the cache, the sync engine or the store: only itself and
the neutral packages it shares with the front door, the formula engine and Airtable's wire
format (so it cannot share their bugs)."""

from __future__ import annotations

import ast
from pathlib import Path

import leadcache.emulator

SHARED = ("formula", "airtable_wire")


def test_emulator_imports_only_itself_and_the_shared_packages() -> None:
    for path in Path(leadcache.emulator.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                assert (node.module or "").split(".")[0] in SHARED, (path.name, node.module)
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                module = node.module or ""
                assert not module.startswith("leadcache") or module.startswith(
                    ("leadcache.emulator", *(f"leadcache.{name}" for name in SHARED))
                ), (path.name, module)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("leadcache") for a in node.names), path.name
