"""Start-up: --version, --help and completion of a command name.

Each runs as a real child process, interleaved with ``python -c "import
typer"``, the floor that any typer program pays.
"""

from __future__ import annotations

import sys

from harness import Row, child_env, interleave, powsoo, ratio_row, run_timed

LIMIT = 1.3
COMPLETION = {
    "_POWSOO_COMPLETE": "complete_bash",
    "COMP_WORDS": "powsoo get",
    "COMP_CWORD": "1",
}


def run(quick: bool) -> list[Row]:
    cli = powsoo()
    plain, completing = child_env(), child_env(**COMPLETION)
    samples = interleave(
        {
            "typer": lambda: run_timed([sys.executable, "-c", "import typer"], plain),
            "version": lambda: run_timed([*cli, "--version"], plain, expect=b"powsoo"),
            "help": lambda: run_timed([*cli, "--help"], plain, expect=b"diagnose"),
            "complete": lambda: run_timed(cli, completing, expect=b"get-config"),
        },
        rounds=6 if quick else 30,
    )
    floor = samples["typer"]
    name = "import typer"
    return [
        ratio_row("start-up: powsoo --version", samples["version"], floor, name, LIMIT),
        ratio_row("start-up: powsoo --help", samples["help"], floor, name, LIMIT),
        ratio_row(
            "start-up: complete 'powsoo get'", samples["complete"], floor, name, LIMIT
        ),
    ]
