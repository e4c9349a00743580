"""Running the real ``leadcache`` executable: in a pseudo-terminal (TTY behaviour) or as a
plain subprocess (signals), with a clean environment."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LEADCACHE = str(Path(sys.executable).with_name("leadcache"))


def process_env(env: Mapping[str, str | None], **extra: str) -> dict[str, str]:
    """``os.environ`` with the test's settings applied (None removes a variable)."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith(("LEAD_CACHE", "AIRTABLE"))}
    for key, value in {**env, **extra}.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@dataclass
class TtyResult:
    exit_code: int
    output: str  # stdout and stderr together, as a terminal shows them


def run_in_tty(
    args: Sequence[str],
    env: Mapping[str, str | None],
    *,
    answers: Sequence[tuple[str, str]] = (),
    timeout: float = 60.0,
    columns: int = 120,
) -> TtyResult:
    """Run ``leadcache ARGS`` with stdin/stdout/stderr on a pseudo-terminal.

    ``answers`` are ``(prompt text, reply)`` pairs: when the prompt appears, the reply is
    typed.
    """
    child_env = process_env(env, COLUMNS=str(columns), TERM="dumb")
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes leadcache
        os.execve(LEADCACHE, [LEADCACHE, *args], child_env)
    chunks: list[bytes] = []
    pending = list(answers)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
            text = b"".join(chunks).decode(errors="replace")
            if pending and pending[0][0] in text:
                os.write(fd, pending.pop(0)[1].encode())
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return TtyResult(os.waitstatus_to_exitcode(status), b"".join(chunks).decode(errors="replace"))


def start(args: Sequence[str], env: Mapping[str, str | None]) -> subprocess.Popen[str]:
    """``leadcache ARGS`` as a plain subprocess (no terminal), pipes for stdout/stderr."""
    return subprocess.Popen(
        [LEADCACHE, *args],
        env=process_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
