"""powsoo explain: what an error code means and how to fix it."""

from __future__ import annotations

from typing import Annotated

import typer


def complete_code(incomplete: str) -> list[str]:
    from powsoo_cli.catalogue import CATALOGUE

    return [code for code in CATALOGUE if code.startswith(incomplete)]


def command(
    code: Annotated[
        str | None,
        typer.Argument(
            help="An error code, e.g. widget_unavailable. Omit to list them all.",
            autocompletion=complete_code,
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the entries as JSON.")
    ] = False,
) -> None:
    """Explain an error code: its HTTP status, meaning, likely causes and fix.

    Example: powsoo explain widget_unavailable
    """
    from dataclasses import asdict

    from powsoo_cli import console
    from powsoo_cli.catalogue import CATALOGUE, lookup
    from powsoo_cli.errors import UsageError
    from powsoo_cli.render.explain import catalogue_table, entry_view

    if code is None:
        if json_output:
            console.print_json([asdict(info) for info in CATALOGUE.values()])
        else:
            console.out().print(catalogue_table(CATALOGUE.values()))
        return

    info = lookup(code)
    if info is None:
        import difflib

        close = difflib.get_close_matches(code.lower(), CATALOGUE, n=3)
        raise UsageError(
            f"unknown error code {code!r}",
            hint=("did you mean " + " or ".join(close) + "?")
            if close
            else "run 'powsoo explain' to list every code",
        )
    if json_output:
        console.print_json(asdict(info))
    else:
        console.out().print(entry_view(info))
