"""Views of the error catalogue."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from powsoo_cli.catalogue import ErrorInfo


def _status(info: ErrorInfo) -> str:
    return str(info.http_status) if info.http_status is not None else "-"


def _where(info: ErrorInfo) -> str:
    if info.visible:
        return "on the wire" if info.documented else "on the wire (assumed)"
    if info.http_status == 404 and info.documented:
        return "log only, hidden behind widget_unavailable"
    return "reported by powsoo"


def entry_view(info: ErrorInfo) -> RenderableType:
    heading = Text.assemble(
        (info.code, "bold cyan"),
        "  ",
        (info.title, "bold"),
    )
    facts = Text(
        f"HTTP {_status(info)} · {_where(info)} · exit code {info.exit_code}",
        style="dim",
    )
    causes = Table.grid(padding=(0, 1))
    causes.add_column(justify="right")
    causes.add_column(overflow="fold")
    for number, cause in enumerate(info.causes, start=1):
        causes.add_row(f"{number}.", cause)
    return Group(
        heading,
        facts,
        Text(""),
        Text(info.meaning),
        Text(""),
        Text("Likely causes", style="bold"),
        Padding(causes, (0, 0, 0, 2)),
        Text(""),
        Text("Fix", style="bold"),
        Padding(Text(info.fix), (0, 0, 0, 2)),
    )


def catalogue_table(entries: Iterable[ErrorInfo]) -> Table:
    table = Table(title="Error codes", title_justify="left", expand=False)
    table.add_column("code", style="cyan", no_wrap=True)
    table.add_column("HTTP", justify="right")
    table.add_column("exit", justify="right")
    table.add_column("where")
    table.add_column("meaning", overflow="fold")
    for info in entries:
        table.add_row(
            info.code, _status(info), str(info.exit_code), _where(info), info.title
        )
    return table
