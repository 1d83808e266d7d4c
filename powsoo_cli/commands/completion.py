"""powsoo completion: print a shell completion script."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def completion_script(shell: str) -> str:
    from typer._completion_shared import get_completion_script

    from powsoo_cli.completing import COMPLETE_VAR

    script = get_completion_script(
        prog_name="powsoo", complete_var=COMPLETE_VAR, shell=shell
    )
    return script.rstrip("\n") + "\n"


def command(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print the completion script for a shell (works in CI and containers).

    bash: powsoo completion bash > ~/.local/share/bash-completion/completions/powsoo
    zsh:  powsoo completion zsh > "${fpath[1]}/_powsoo"
    fish: powsoo completion fish > ~/.config/fish/completions/powsoo.fish
    """
    import sys

    sys.stdout.write(completion_script(shell.value))
