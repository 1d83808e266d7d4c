"""The README's examples are what the tool really prints today."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_examples_match_the_running_tool():
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_readme.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert check.returncode == 0, check.stdout + check.stderr


def test_the_readme_opens_with_the_two_commands_ci_relies_on():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    blocks = readme.split("```sh\n")[1:3]
    first, second = (block.split("\n```")[0].strip() for block in blocks)

    assert "POWSOO_ENV=sandbox powsoo diagnose" in first
    assert second in ci.splitlines()
