"""The official ``airtable`` JavaScript client for tests (the emulator's and the front door's):
installed from the npm registry into ``.cache/npm`` under the repository (git-ignored) on first
use, and run with ``node``. Tests using it share the ``npm`` xdist group, so one installs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NPM_DIR = REPO / ".cache" / "npm"
CLIENT = NPM_DIR / "node_modules" / "airtable"
VERSION = "0.12.2"

__all__ = ["install_airtable_js", "run_node"]


def install_airtable_js() -> Path:
    """The ``node_modules`` directory holding the client (skips the test without node/npm)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to install and run the official airtable client")
    if not (CLIENT / "package.json").exists():
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(NPM_DIR),
             f"airtable@{VERSION}"],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    installed = json.loads((CLIENT / "package.json").read_text())["version"]
    assert installed.startswith("0.12."), installed
    return NPM_DIR / "node_modules"


def run_node(script: Path, modules: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``script`` with the client on ``NODE_PATH``; its stdout is one JSON object."""
    done = subprocess.run(
        ["node", str(script)],
        env={**os.environ, "NODE_PATH": str(modules), **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]
