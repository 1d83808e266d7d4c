"""powsoo check-origin: would the API accept this Origin under these entries?"""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    origin: Annotated[
        str,
        typer.Argument(help="The Origin header value, e.g. https://www.shop.example."),
    ],
    allowed: Annotated[
        list[str],
        typer.Option(
            "--allowed",
            "-a",
            help="An allowed-origins entry (repeat for each), e.g. *.shop.example.",
            show_default=False,
        ),
    ],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the verdict as JSON.")
    ] = False,
) -> None:
    """Check an Origin against allowed-origins entries, as the API matches them.

    Exits 0 when the origin is allowed and 1 when it is not. Uses the same
    matching code as diagnose and the sandbox.

    Example: powsoo check-origin https://www.shop.example -a shop.example
    """
    from powsoo_cli import console
    from powsoo_cli.errors import UsageError
    from powsoo_cli.origins import OriginError, match_origin, parse_entry
    from powsoo_cli.render.origins import match_json, match_view

    for entry in allowed:
        try:
            parse_entry(entry)
        except OriginError as exc:
            raise UsageError(f"--allowed {entry!r}: {exc}") from None

    result = match_origin(origin, allowed)
    if json_output:
        console.print_json(match_json(result))
    else:
        console.out().print(match_view(result))
    if not result.allowed:
        raise typer.Exit(1)
