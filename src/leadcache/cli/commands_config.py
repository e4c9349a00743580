"""``leadcache config`` (the effective settings, where each came from, secrets masked) and
``leadcache completion`` (the shell completion script)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Final

import click

from ..settings import SETTINGS, Secret
from .context import Env, common_options, pass_env
from .output import emit, render_table

__all__ = ["COMMANDS"]

MASK: Final = "********"
# user:password@ inside a URL (an S3 or database URL may carry credentials).
_URL_PASSWORD: Final = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]*:)[^@/\s]+@", re.I)


def _shown(value: Any, *, secret: bool) -> Any:
    """The value as printed: secrets masked (never revealed), paths as text."""
    if value is None:
        return None
    if secret or isinstance(value, Secret):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str):
        return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", value)
    return value


def _source(env: Env, attr: str, names: tuple[str, ...]) -> str:
    if attr == "db_path" and env.db is not None:
        return "--db"
    for name in names:
        if os.environ.get(name):
            return name if name == names[0] else f"{name} (alias)"
    return "default"


def effective_settings(env: Env) -> list[dict[str, Any]]:
    """One row per setting: variable, value (secrets masked), source, and its help."""
    settings = env.settings()
    rows = []
    for setting in SETTINGS:
        value = getattr(settings, setting.attr)
        source = _source(env, setting.attr, (setting.env, *setting.aliases))
        rows.append(
            {
                "name": setting.env,
                "value": _shown(value, secret=setting.secret and value is not None),
                "source": "env" if source == setting.env else source,
                "secret": setting.secret,
                "help": setting.help,
            }
        )
    return rows


@click.command("config")
@common_options
@pass_env
def config_cmd(env: Env) -> None:
    """Show the effective settings: each variable's value and where it came from (the
    environment, an alias, --db or the default). Secrets are masked; nothing is changed.

    Invalid settings exit 7 with the variable named.

    \b
    Example:
      leadcache config
      leadcache config --json --fields name,value
    """
    rows = effective_settings(env)

    def human() -> str:
        table_rows = [
            {
                **r,
                "value": "(unset)"
                if r["value"] is None
                else r["value"]
                if isinstance(r["value"], str)
                else json.dumps(r["value"]),
            }
            for r in rows
        ]
        cols = (("name", "setting"), ("value", "value"), ("source", "source"))
        return render_table(table_rows, cols, max_width=60)

    emit(env, rows, human)


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion_cmd(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, choices).

    \b
    Install (as for gh):
      leadcache completion bash > ~/.local/share/bash-completion/completions/leadcache
      leadcache completion zsh > "${fpath[1]}/_leadcache"
      leadcache completion fish > ~/.config/fish/completions/leadcache.fish
    Or evaluate it at shell start: eval "$(leadcache completion bash)".
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root()
    cls = get_completion_class(shell)
    if cls is None:  # pragma: no cover - click ships all three
        raise click.UsageError(f"no completion for {shell}")
    comp = cls(root.command, {}, "leadcache", "_LEADCACHE_COMPLETE")
    click.echo(comp.source())


COMMANDS = (config_cmd, completion_cmd)
