"""The view of one origin check, and its JSON shape."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from powsoo_cli.origins import MatchResult


def match_json(result: MatchResult) -> dict[str, Any]:
    """The verdict with the same key style as every other JSON we print."""
    return {
        "allowed": result.allowed,
        "origin": result.origin,
        "matchedEntry": result.matched_entry,
        "alwaysAllowed": result.always_allowed,
        "reasons": list(result.reasons),
        "suggestion": result.suggestion,
        "suggestedEntry": result.suggested_entry,
    }


def match_view(result: MatchResult) -> RenderableType:
    if result.allowed:
        if result.always_allowed:
            why = "localhost and 127.0.0.1 are always allowed"
        else:
            why = f'matched the entry "{result.matched_entry}"'
        return Text.assemble(
            ("allowed  ", "bold green"), (result.origin, "bold"), f"  ({why})"
        )

    # Two columns, so that a long reason wraps under its own text.
    details = Table.grid(padding=(0, 1))
    details.add_column(no_wrap=True)
    details.add_column(overflow="fold")
    for reason in result.reasons:
        details.add_row("  -", Text(reason))
    if result.suggested_entry:
        fix = f'add the entry "{result.suggested_entry}" to the allowed origins'
        details.add_row(Text("  fix:", style="bold"), Text(fix))
    elif result.suggestion:
        details.add_row(Text("  fix:", style="bold"), Text(result.suggestion))
    heading = Text.assemble(("refused  ", "bold red"), (result.origin, "bold"))
    return Group(heading, details)
