"""The view of one origin check."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from powsoo_cli.origins import MatchResult


def match_view(result: MatchResult) -> RenderableType:
    if result.allowed:
        if result.always_allowed:
            why = "localhost and 127.0.0.1 are always allowed"
        else:
            why = f"matched entry {result.matched_entry!r}"
        return Text.assemble(
            ("allowed  ", "bold green"), (result.origin, "bold"), f"  ({why})"
        )

    lines: list[RenderableType] = [
        Text.assemble(("refused  ", "bold red"), (result.origin, "bold"))
    ]
    for reason in result.reasons:
        lines.append(Text("  - " + reason))
    if result.suggestion:
        lines.append(Text.assemble(("  fix: ", "bold"), result.suggestion))
    return Group(*lines)
