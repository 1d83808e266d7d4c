"""powsoo config show: every effective setting and where it came from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from powsoo_cli.commands.common import options

if TYPE_CHECKING:
    from powsoo_cli.settings import LoadedSettings


def command(
    ctx: typer.Context,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the settings as JSON.")
    ] = False,
) -> None:
    """Show each effective setting, its source, and the config file in use.

    Precedence: flags > environment (POWSOO_*) > config file > defaults.
    Secrets are shortened.
    """
    from powsoo_cli import console
    from powsoo_cli.render.calls import key_value_table
    from powsoo_cli.runtime import describe_settings

    loaded = options(ctx).loaded()
    rows = describe_settings(loaded)
    base = loaded.settings.api_base_url or "(embedded sandbox, started per command)"

    if json_output:
        console.print_json(
            {
                "configFile": str(loaded.config_file),
                "profile": loaded.profile,
                "apiBaseUrl": base,
                "settings": {
                    name: {"value": json_value(loaded, name), "source": source}
                    for name, source in loaded.sources.items()
                },
            }
        )
        return

    from rich.table import Table
    from rich.text import Text

    table = Table(title="Effective settings", title_justify="left")
    table.add_column("setting", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("source", style="dim", overflow="fold")
    for name, value in rows:
        table.add_row(name, Text(value), Text(loaded.sources[name]))
    present = "" if loaded.config_file.is_file() else " (not present)"
    console.out().print(table)
    console.out().print(
        key_value_table(
            [
                ("API", Text(base)),
                ("config file", Text(f"{loaded.config_file}{present}")),
                ("profile", Text(loaded.profile or "(none)")),
            ]
        )
    )


def json_value(loaded: LoadedSettings, name: str) -> object:
    """A setting as JSON: numbers stay numbers, unset is null, secrets short."""
    from pydantic import SecretStr

    from powsoo_cli.redact import shorten

    value = getattr(loaded.settings, name)
    if isinstance(value, SecretStr):
        return shorten(value.get_secret_value())
    return value
