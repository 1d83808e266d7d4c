"""Shell completion, answered by typer with one shortcut.

Completing a command name needs no more than the table of names. Typer would
first parse the global options, and for that it builds pydantic validators:
far slower than the answer itself, on every TAB.
"""

from __future__ import annotations

import os
from typing import Any

from powsoo_cli.command_table import (
    COMMANDS,
    CONFIG_GROUP,
    CONFIG_SUMMARY,
    at_command_position,
)

COMPLETE_VAR = "_POWSOO_COMPLETE"


def requested() -> bool:
    return bool(os.environ.get(COMPLETE_VAR))


def words_before_cursor() -> list[str]:
    """The words typed before the one being completed, for bash, zsh and fish."""
    from typer._click.shell_completion import split_arg_string

    if "COMP_WORDS" in os.environ:  # bash
        words = split_arg_string(os.environ["COMP_WORDS"])
        return words[1 : int(os.environ.get("COMP_CWORD", "0") or 0)]

    line = os.environ.get("_TYPER_COMPLETE_ARGS", "")  # zsh and fish
    words = split_arg_string(line)[1:]
    if words and not line.endswith(" "):
        words = words[:-1]
    return words


class _CommandNamesFirst:
    def get_completions(self, args: list[str], incomplete: str) -> list[Any]:
        if not at_command_position(args, incomplete):
            found = super().get_completions(args, incomplete)  # type: ignore[misc]
            return list(found)

        from typer._click.shell_completion import CompletionItem

        names = {name: summary for name, (_, summary) in COMMANDS.items()}
        names[CONFIG_GROUP] = CONFIG_SUMMARY
        return [
            CompletionItem(name, help=summary)
            for name, summary in names.items()
            if name.startswith(incomplete)
        ]


def install() -> None:
    """Register typer's completion classes, each with the shortcut in front."""
    from typer._click.shell_completion import add_completion_class
    from typer._completion_classes import (
        BashComplete,
        FishComplete,
        ZshComplete,
        completion_init,
    )

    completion_init()
    for shell, base in (
        ("bash", BashComplete),
        ("zsh", ZshComplete),
        ("fish", FishComplete),
    ):
        fast = type(f"Fast{base.__name__}", (_CommandNamesFirst, base), {})
        add_completion_class(fast, shell)
