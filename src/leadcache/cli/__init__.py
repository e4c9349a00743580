"""The ``leadcache`` command line: a thin shell over the library.

Each command opens the cache, calls one library method and prints the result (a table for
people, JSON with ``--json``). Library errors become one clean line on stderr and an exit code
(:mod:`leadcache.cli.output`). No SQL and no HTTP here.

Modules:
    context          global options (``--db``, ``--json``), settings, opening the cache
    output           exit codes, errors, tables, JSON, progress bars
    commands_leads   init, get, list, search, add, update, delete
    commands_sync    status, pull, push, sync, pending, conflicts
    commands_ops     backup, restore, verify, doctor, serve
    commands_api     api (the Airtable-compatible front door)
    commands_config  config
    render           safe text, display widths, tables that fit the terminal
    emulator_cmd     emulator
    demo             demo (the whole story, against the emulator)
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from ..errors import LeadCacheError
from .commands_api import COMMANDS as API_COMMANDS
from .commands_config import COMMANDS as CONFIG_COMMANDS
from .commands_leads import COMMANDS as LEAD_COMMANDS
from .commands_mcp import COMMANDS as MCP_COMMANDS
from .commands_ops import COMMANDS as OPS_COMMANDS
from .commands_store import COMMANDS as STORE_COMMANDS
from .commands_sync import COMMANDS as SYNC_COMMANDS
from .context import Env, common_options
from .demo import demo_command
from .emulator_cmd import emulator_command
from .output import CODE_NAMES, EXIT_CODES_HELP, ExitCode, from_library

__all__ = ["cli", "main"]


class _Group(click.Group):
    """Turns library errors raised by any command into clean CLI errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LeadCacheError as exc:
            env = ctx.find_root().ensure_object(Env)
            raise from_library(exc, as_json=env.json) from None

    def list_commands(self, ctx: click.Context) -> list[str]:
        # Keep the order in which commands were added (a tour), not alphabetical.
        return list(self.commands)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the CLI; in standalone mode, turn what click would print itself into our
        conventions: usage errors as JSON on stdout under ``--json``, Ctrl-C as a quiet
        exit 130."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, False, **extra)
        except (click.exceptions.Abort, KeyboardInterrupt):
            # Ctrl-C: the shell convention is 128 + SIGINT, and no "Aborted!" noise.
            sys.exit(int(ExitCode.INTERRUPTED))
        except click.ClickException as exc:
            if _wants_json(argv) and not getattr(exc, "as_json", False):
                payload = {
                    "error": {
                        "code": _code_name(exc.exit_code),
                        "exit_code": exc.exit_code,
                        "message": exc.format_message(),
                        "hint": "see `leadcache --help` or `leadcache COMMAND --help`",
                        "kind": "UsageError",
                    }
                }
                click.echo(json.dumps(payload, ensure_ascii=False))
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES_HELP,
)
@common_options
@click.version_option(package_name="leadcache")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """leadcache: a local cache of your Airtable leads, with two-way sync.

    Reads come from the local database (no API call); writes are queued and pushed to
    Airtable in batches. Settings come from the environment (docs/configuration.md).

    \b
    Start with:
      leadcache demo            # everything, against a local Airtable emulator
      leadcache init && leadcache pull && leadcache status
    """
    ctx.ensure_object(Env)


_ALL = (*LEAD_COMMANDS, *SYNC_COMMANDS, *OPS_COMMANDS, *CONFIG_COMMANDS, *API_COMMANDS)
for _command in (*_ALL, *STORE_COMMANDS, *MCP_COMMANDS):
    cli.add_command(_command)
cli.add_command(emulator_command)


cli.add_command(demo_command)


def _wants_json(argv: Sequence[str]) -> bool:
    """Whether the command line asked for JSON (read from the words, because a usage error
    can stop click before the option is processed)."""
    words = list(argv[: argv.index("--")] if "--" in argv else argv)
    for i, word in enumerate(words):
        if word == "--json" or word in ("--format=json", "--format=ndjson"):
            return True
        if word == "--format" and i + 1 < len(words) and words[i + 1] in ("json", "ndjson"):
            return True
    return False


def _code_name(exit_code: int) -> str:
    try:
        return CODE_NAMES[ExitCode(exit_code)]
    except ValueError:
        return "error"


def main() -> None:
    """Entry point of the ``leadcache`` script and ``python -m leadcache``."""
    cli.main(prog_name="leadcache")
