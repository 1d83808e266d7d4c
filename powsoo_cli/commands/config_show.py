"""powsoo config show: every effective setting and where it came from."""

from __future__ import annotations

from typing import Annotated

import typer

from powsoo_cli.commands.common import options


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
                    name: {"value": value, "source": loaded.sources[name]}
                    for name, value in rows
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
