"""Where output goes and how it looks: data on stdout, messages on stderr.

Colour and animation are on only for a terminal, and never with NO_COLOR or
TERM=dumb; FORCE_COLOR or CLICOLOR_FORCE turn colour on anywhere. JSON never
passes through rich, so it is never wrapped or styled.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

PROGRAM = "powsoo"
PIPE_WIDTH = 120


def styling_enabled(stream: TextIO) -> bool:
    """Whether to colour and animate output written to ``stream``."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE", "0") != "0":
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _width_is_known(stream: TextIO) -> bool:
    # Without a terminal or COLUMNS rich assumes 80 columns; a pipe gets room.
    return "COLUMNS" in os.environ or stream.isatty()


def _make_console(stream: TextIO) -> Console:
    from rich.console import Console

    styled = styling_enabled(stream)
    return Console(
        file=stream,
        force_terminal=styled,
        no_color=not styled,
        color_system="auto" if styled else None,
        highlight=False,
        emoji=False,
        width=None if styled or _width_is_known(stream) else PIPE_WIDTH,
    )


@cache
def out() -> Console:
    """The console for data (stdout)."""
    return _make_console(sys.stdout)


@cache
def err() -> Console:
    """The console for messages (stderr)."""
    return _make_console(sys.stderr)


def reset() -> None:
    """Forget the consoles (tests swap the streams between runs)."""
    out.cache_clear()
    err.cache_clear()


def print_json(data: Any, *, compact: bool = False) -> None:
    """Write one JSON document to stdout, plain, and flush it."""
    if compact:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(data, ensure_ascii=False, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def message(text: str, *, style: str | None = None) -> None:
    """A line for the person at the terminal, on stderr. Never markup."""
    if not styling_enabled(sys.stderr):
        # The same line rich would write, without the cost of importing it.
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
        return

    from rich.text import Text

    err().print(Text(text, style=style or ""), soft_wrap=True)


def warn(text: str) -> None:
    message(f"{PROGRAM}: warning: {text}", style="yellow")


def error_line(text: str, hint: str | None = None) -> None:
    message(f"{PROGRAM}: error: {text}", style="bold red")
    if hint:
        message(f"hint: {hint}", style="dim")
