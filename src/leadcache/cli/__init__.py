"""The ``leadcache`` command line: a thin shell over the library."""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """leadcache: a local cache of your Airtable leads, with two-way sync."""


def main() -> None:
    cli()
