"""The names of the commands, and which one an argument list runs.

Standard library only: ``powsoo --version`` and shell completion read this
before typer is imported.
"""

from __future__ import annotations

from collections.abc import Sequence

# name: (module under powsoo_cli.commands, summary shown in the command list)
COMMANDS: dict[str, tuple[str, str]] = {
    "diagnose": ("diagnose", "Work out why a widget fails on a site, and the fix."),
    "get-config": ("get_config", "Fetch a widget's embed config as a page does."),
    "mint-token": ("mint_token", "Mint a voice token as a click on the widget does."),
    "watch-events": ("watch_events", "Follow a call's event stream live."),
    "post-result": ("post_result", "Answer a card as the widget does."),
    "send-card": ("send_card", "Show a card as Retell does and wait for the answer."),
    "check-origin": (
        "check_origin",
        "Check an Origin against allowed-origins entries.",
    ),
    "explain": ("explain", "Explain an error code: status, meaning, causes, fix."),
    "sandbox": ("sandbox", "Serve the emulated API with its demo widgets."),
    "completion": ("completion", "Print a shell completion script."),
}
CONFIG_GROUP = "config"
CONFIG_SUMMARY = "Inspect the effective configuration."
# Global options that take a value, to find the command among the arguments.
VALUE_OPTIONS = frozenset(
    {
        "--env",
        "--base-url",
        "--profile",
        "--request-id",
        "--connect-timeout",
        "--read-timeout",
    }
)


GLOBAL_OPTIONS = VALUE_OPTIONS | {"--debug", "--version"}


def command_in(args: Sequence[str]) -> str | None:
    """The command named in ``args``, skipping global options and their values."""
    words = iter(args)
    for word in words:
        if word in VALUE_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def at_command_position(args: Sequence[str], incomplete: str) -> bool:
    """Whether the word being completed after ``args`` is a command name."""
    if incomplete.startswith("-") or command_in(args) is not None:
        return False
    return not (args and args[-1] in VALUE_OPTIONS)
