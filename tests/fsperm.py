"""Making files and directories really read-only, even for root (the tests run as root).

Root ignores permission bits (CAP_DAC_OVERRIDE): ``chmod 0500`` on a directory does not stop
it creating files there, and a read-only bind mount needs privileges a test should not use. The
ext4 "immutable" attribute (``chattr +i``) does stop root: no new entries in an immutable
directory, no writes to or unlinking of an immutable file, each failing with EPERM, exactly
what a non-owner sees. Where the filesystem or the container does not support it, the test
is skipped with that reason instead of passing without checking anything.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["immutable"]


def _chattr(flag: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make ``paths`` immutable for the duration of the block (always undone afterwards)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a path read-only for root")
    done: list[Path] = []
    try:
        for path in paths:
            result = _chattr("+i", path)
            if result.returncode != 0:
                pytest.skip(f"chattr +i not supported here: {result.stderr.strip()}")
            done.append(path)
        yield
    finally:
        for path in reversed(done):
            _chattr("-i", path)
