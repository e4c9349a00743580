"""Docs that cannot drift: every command is documented, every setting is listed, and the
generated reference sections equal what the code prints today."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadcache.cli import cli
from leadcache.cli.reference import (
    BEGIN,
    END,
    cli_reference,
    iter_commands,
    settings_reference,
)
from leadcache.settings import SETTINGS

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMANDS = list(iter_commands(cli))


def _generated(doc: Path) -> str:
    return doc.read_text().split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


def test_the_issue_s_commands_all_exist() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    wanted = {
        "init", "status", "pull", "push", "sync", "get", "list", "search", "pending",
        "pending list", "pending retry", "pending drop", "conflicts", "conflicts list",
        "conflicts resolve", "backup", "restore", "verify", "doctor", "emulator", "serve",
        "demo",
    }  # fmt: skip
    assert wanted <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_is_in_cli_md(path: tuple[str, ...], command: object) -> None:
    import click

    assert isinstance(command, click.Command)
    assert (command.help or "").strip(), f"leadcache {' '.join(path)} has no help text"
    assert command.get_short_help_str().strip()
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"{' '.join(path)} {param.opts} has no help"
    assert f"### leadcache {' '.join(path)}\n" in (DOCS / "cli.md").read_text()


def test_cli_reference_is_current() -> None:
    assert _generated(DOCS / "cli.md") == cli_reference().strip("\n"), (
        "docs/cli.md is stale: run python -m leadcache.cli.reference cli docs/cli.md"
    )


def test_every_setting_is_in_configuration_md() -> None:
    text = (DOCS / "configuration.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.env}`" in text, setting.env
    assert _generated(DOCS / "configuration.md") == settings_reference().strip("\n"), (
        "docs/configuration.md is stale: run "
        "python -m leadcache.cli.reference settings docs/configuration.md"
    )


def test_exit_codes_are_documented() -> None:
    from leadcache.cli.output import CODE_NAMES

    text = (DOCS / "cli.md").read_text()
    for code, name in CODE_NAMES.items():
        assert f"| {int(code)} | {name} |" in text
