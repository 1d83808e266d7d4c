"""Fill the README's examples with what the tool really prints.

Each example is a pair of markers in README.md:

    <!-- example: POWSOO_ENV=sandbox powsoo get-config wid_demo -o https://a.b -->
    <!-- /example -->

Everything between them is replaced by a console block showing the command
and its output (stdout and stderr, as a terminal would interleave them),
produced in a clean environment without colour at 88 columns.

``$SANDBOX`` in a command stands for a standalone sandbox that lives for the
whole run (shown as ``http://127.0.0.1:8787``), so examples can share a call.
A command ending in `` &`` runs in the background while the next examples
run; its block is filled when it ends. ``printf '...' | powsoo ...`` feeds
the text to the command's stdin.

``--check`` writes nothing and exits 1 when the README differs from a fresh
run, ignoring what changes from run to run (ids, tokens, times).
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from powsoo_cli.sandbox.server import RunningSandbox, start_in_thread
from powsoo_cli.sandbox.state import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
SHOWN_SANDBOX_URL = "http://127.0.0.1:8787"
# Time for a background command to connect before the next example runs.
BACKGROUND_SETTLE_SECONDS = 1.0
README = ROOT / "README.md"
EXAMPLE = re.compile(
    r"(<!-- example: (?P<command>.+?) -->\n)(?P<body>.*?)(<!-- /example -->)",
    re.S,
)
VOLATILE = [
    (re.compile(r"req_[0-9a-f]{16}"), "req_…"),
    (re.compile(r"call_[0-9a-f]{24}"), "call_…"),
    (re.compile(r"tc_[0-9a-f]{16}"), "tc_…"),
    (re.compile(r"sst_[A-Za-z0-9_-]{4}…"), "sst_…"),
    (re.compile(r"\d+(\.\d+)? ?ms\b"), "N ms"),
    (re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?"), "TIMESTAMP"),
    (re.compile(r"in \d+ min \d+ s"), "in N min N s"),
    (re.compile(r"\d+(\.\d+)? ?s\b"), "N s"),
    (re.compile(r"\d\d:\d\d:\d\d"), "HH:MM:SS"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:PORT"),
]


@dataclass
class Run:
    """One example on its way: started, and finished when ``block`` is set."""

    command: str
    process: subprocess.Popen[str]
    block: str | None = None


def start_example(command: str, home: Path, sandbox: RunningSandbox) -> Run:
    shown = command.removesuffix(" &")
    stdin_text = None
    if " | " in shown:
        feeder, shown_rest = shown.split(" | ", 1)
        printf, text = shlex.split(feeder)
        assert printf == "printf", f"only printf can feed an example: {command}"
        stdin_text = codecs.decode(text, "unicode_escape")
    else:
        shown_rest = shown

    words = shlex.split(shown_rest.replace("$SANDBOX", sandbox.url))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("POWSOO_", "FORCE_COLOR", "CLICOLOR", "GITHUB_"))
    }
    env.update(
        NO_COLOR="1",
        COLUMNS="88",
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local/state"),
    )
    while words and "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    assert words[0] == "powsoo", f"an example must run powsoo: {command}"

    process = subprocess.Popen(
        [sys.executable, "-m", "powsoo_cli", *words[1:]],
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=home,
    )
    if stdin_text is not None:
        assert process.stdin is not None
        process.stdin.write(stdin_text)
        process.stdin.close()
        process.stdin = None  # communicate() must not flush it again
    return Run(command.replace("$SANDBOX", SHOWN_SANDBOX_URL), process)


def finish_example(run: Run, home: Path, sandbox: RunningSandbox) -> str:
    output, _ = run.process.communicate(timeout=60)
    output = output.replace(str(home), "~").replace(sandbox.url, SHOWN_SANDBOX_URL)
    output = "\n".join(line.rstrip() for line in output.rstrip().splitlines())
    code = run.process.returncode
    trailer = f"\n[exit code {code}]" if code else ""
    return f"```console\n$ {run.command}\n{output}{trailer}\n```\n"


def render(text: str) -> str:
    config = SandboxConfig(heartbeat_interval=1.0)
    with (
        tempfile.TemporaryDirectory(prefix="powsoo-readme-") as folder,
        start_in_thread(config) as sandbox,
    ):
        home = Path(folder)
        runs: list[Run] = []
        background: list[Run] = []
        for match in EXAMPLE.finditer(text):
            run = start_example(match.group("command"), home, sandbox)
            runs.append(run)
            if match.group("command").endswith(" &"):
                background.append(run)
                time.sleep(BACKGROUND_SETTLE_SECONDS)
            else:
                run.block = finish_example(run, home, sandbox)
        for run in background:
            run.block = finish_example(run, home, sandbox)

        blocks = iter(runs)

        def fill(match: re.Match[str]) -> str:
            block = next(blocks).block
            assert block is not None
            return match.group(1) + block + match.group(4)

        return EXAMPLE.sub(fill, text)


# Column widths and line breaks follow the width of volatile values (a time
# of 9 ms or 12 ms), so the comparison ignores layout: spaces, box lines.
LAYOUT = re.compile(r"[\s│╭╮╰╯─━┃┏┓┗┛┡┩┳┻╇]+")
# Heartbeats arrive on a clock of their own; whether one lands inside an
# example is luck.
HEARTBEAT_LINE = re.compile(r"HH:MM:SS heartbeat at TIMESTAMP ")


def normalise(text: str) -> str:
    """The text with layout folded to single spaces and volatile values masked."""
    text = LAYOUT.sub(" ", text)
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return HEARTBEAT_LINE.sub("", text)


def same_content(current: str, fresh: str) -> bool:
    # Folding may break a long word anywhere, so spaces cannot count at all.
    return normalise(current).replace(" ", "") == normalise(fresh).replace(" ", "")


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if same_content(current, fresh):
            return 0
        import difflib

        diff = difflib.unified_diff(
            normalise(current).split(" "),
            normalise(fresh).split(" "),
            "README.md",
            "fresh output",
            lineterm="",
        )
        print("\n".join(diff))
        print("README.md is stale: run python scripts/gen_readme.py")
        return 1

    README.write_text(fresh, encoding="utf-8")
    print(f"wrote {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
