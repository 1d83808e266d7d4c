"""Fill the README's examples with what the tool really prints.

Each example is a pair of markers in README.md:

    <!-- example: POWSOO_ENV=sandbox powsoo get-config wid_demo -o https://a.b -->
    <!-- /example -->

Everything between them is replaced by a console block showing the command
and its output (stdout and stderr, as a terminal would interleave them),
produced in a clean environment without colour at 88 columns.

``--check`` writes nothing and exits 1 when the README differs from a fresh
run, ignoring what changes from run to run (ids, tokens, times).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
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
    (re.compile(r" +\n"), "\n"),
    (re.compile(r"[─━]+"), "─"),
]


def run_example(command: str, home: Path) -> str:
    words = shlex.split(command)
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

    done = subprocess.run(
        [sys.executable, "-m", "powsoo_cli", *words[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=home,
        timeout=60,
        check=False,
    )
    output = done.stdout.replace(str(home), "~").rstrip()
    output = "\n".join(line.rstrip() for line in output.splitlines())
    trailer = f"\n[exit code {done.returncode}]" if done.returncode else ""
    return f"```console\n$ {command}\n{output}{trailer}\n```\n"


def render(text: str) -> str:
    with tempfile.TemporaryDirectory(prefix="powsoo-readme-") as folder:
        home = Path(folder)

        def fill(match: re.Match[str]) -> str:
            body = run_example(match.group("command"), home)
            return match.group(1) + body + match.group(4)

        return EXAMPLE.sub(fill, text)


def normalise(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def main(argv: list[str]) -> int:
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in argv:
        if normalise(fresh) == normalise(current):
            return 0
        import difflib

        diff = difflib.unified_diff(
            normalise(current).splitlines(),
            normalise(fresh).splitlines(),
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
