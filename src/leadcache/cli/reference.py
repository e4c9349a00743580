"""Generate the reference part of ``docs/cli.md`` and ``docs/configuration.md``.

``python -m leadcache.cli.reference cli`` prints every command's ``--help``;
``python -m leadcache.cli.reference settings`` prints the settings table from ``SETTINGS``.
``tests/test_docs.py`` fails when the committed docs differ from what this prints, so the
docs cannot drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from ..settings import SETTINGS

__all__ = ["BEGIN", "END", "cli_reference", "iter_commands", "settings_reference", "splice"]

BEGIN = "<!-- BEGIN GENERATED: do not edit; python -m leadcache.cli.reference -->"
END = "<!-- END GENERATED -->"
# As the CLI's own context settings, so the text equals what `--help` prints.
_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def iter_commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand, depth first, as (path, command)."""
    ctx = click.Context(group, info_name="leadcache")
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from iter_commands(command, (*prefix, name))


def _help(path: tuple[str, ...], command: click.Command) -> str:
    parent = click.Context(click.Group("leadcache"), info_name="leadcache", **_SETTINGS)
    ctx = click.Context(
        command, info_name=" ".join(path), parent=parent, terminal_width=100, **_SETTINGS
    )
    return command.get_help(ctx)


def cli_reference() -> str:
    """The ``--help`` of ``leadcache`` and of every command, as Markdown."""
    from . import cli

    root = click.Context(cli, info_name="leadcache", terminal_width=100, **_SETTINGS)
    parts = ["## Reference (generated from --help)", "", "```text", cli.get_help(root), "```"]
    for path, command in iter_commands(cli):
        parts += ["", f"### leadcache {' '.join(path)}", "", "```text", _help(path, command), "```"]
    return "\n".join(parts) + "\n"


def settings_reference() -> str:
    """Every setting as a Markdown table."""
    lines = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "(none)" if s.default is None else str(s.default)
        if isinstance(s.default, dict):
            default = "(the default field map)"
        aliases = f" (alias: {', '.join(s.aliases)})" if s.aliases else ""
        help_text = s.help.replace("|", "\\|")
        lines.append(f"| `{s.env}`{aliases} | `{default}` | {help_text} |")
    return "\n".join(lines) + "\n"


def splice(doc: str, generated: str) -> str:
    """``doc`` with the text between the markers replaced by ``generated``."""
    head, rest = doc.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "cli"
    text = cli_reference() if what == "cli" else settings_reference()
    if len(argv) > 1:
        path = Path(argv[1])
        path.write_text(splice(path.read_text(), text))
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
