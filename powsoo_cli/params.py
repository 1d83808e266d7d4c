"""Options and arguments shared by several commands, checked before any request.

Only typer and the standard library are imported here: this module is loaded
for ``--help`` and shell completion.
"""

from __future__ import annotations

import re
from typing import Annotated

import typer

WIDGET_ID = re.compile(r"wid_[A-Za-z0-9]+")
# Every wait must end: a day is longer than any call or hold can last.
LONGEST_WAIT = 86_400.0


def check_widget_id(value: str | None) -> str | None:
    if value is not None and not WIDGET_ID.fullmatch(value):
        raise typer.BadParameter(
            f"{value!r} is not a widget id; ids look like wid_ followed by letters "
            "and digits, e.g. wid_demo"
        )
    return value


def check_origin(value: str | None) -> str | None:
    """Accept ``scheme://host[:port]`` only; returns the browser's spelling."""
    if value is None:
        return None
    from powsoo_cli.origins import OriginError, parse_origin

    try:
        return str(parse_origin(value))
    except OriginError as exc:
        raise typer.BadParameter(str(exc)) from None


def complete_demo_widget(incomplete: str) -> list[str]:
    from powsoo_cli.sandbox.fixtures import DEMO_WIDGETS

    return [wid for wid in DEMO_WIDGETS if wid.startswith(incomplete)]


WidgetArg = Annotated[
    str,
    typer.Argument(
        metavar="WIDGET",
        help="The widget id, e.g. wid_demo.",
        callback=check_widget_id,
        autocompletion=complete_demo_widget,
        show_default=False,
    ),
]
OriginOpt = Annotated[
    str | None,
    typer.Option(
        "--origin",
        "-o",
        metavar="ORIGIN",
        help="The page origin to present, scheme://host[:port] "
        "(default: POWSOO_ORIGIN or the config file).",
        callback=check_origin,
        show_default=False,
    ),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the response body as JSON on stdout.")
]
ShowSecretsOpt = Annotated[
    bool,
    typer.Option("--show-secrets", help="Show tokens in full instead of shortened."),
]
