"""--version, --help and completing a command name load no heavy library.

Each runs in a fresh child process, which then lists the top-level packages
in sys.modules: the only way to see what a real start-up imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

# Runs the command, then prints the packages it loaded after a marker line.
PROBE = """\
import sys

from powsoo_cli.__main__ import main

try:
    main(sys.argv[1:])
except SystemExit:
    pass
sys.stdout.flush()
print("\\n--modules--")
print("\\n".join(sorted({name.split(".")[0] for name in sys.modules})))
"""
NETWORK_AND_MODELS = {"httpx", "pydantic", "pydantic_settings", "uvicorn", "starlette"}
COMPLETION = {
    "_POWSOO_COMPLETE": "complete_bash",
    "COMP_WORDS": "powsoo get",
    "COMP_CWORD": "1",
}


def start(*args: str, env: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """What the command printed, and the packages it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output, _, modules = done.stdout.partition("\n--modules--\n")
    return output, set(modules.split())


def test_version_loads_neither_the_network_stack_nor_rich():
    output, modules = start("--version")

    assert output.startswith("powsoo ")
    assert modules.isdisjoint(NETWORK_AND_MODELS | {"rich"})


def test_help_loads_no_network_or_model_library():
    output, modules = start("--help")

    assert "get-config" in output
    assert modules.isdisjoint(NETWORK_AND_MODELS)


def test_completing_a_command_name_loads_neither_the_network_stack_nor_rich():
    output, modules = start(env=COMPLETION)

    assert output.split() == ["get-config"]
    assert modules.isdisjoint(NETWORK_AND_MODELS | {"rich"})
