"""Shell completion: the shipped scripts are current and the protocol answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_completion_scripts_in_the_repository_are_current():
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_completions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell, run_cli):
    result = run_cli("completion", shell)

    assert result.exit_code == 0
    assert "_POWSOO_COMPLETE" in result.stdout


def test_an_unknown_shell_is_a_usage_error(run_cli):
    result = run_cli("completion", "tcsh")

    assert result.exit_code == 2


def complete(words: str, index: int) -> list[str]:
    from tests.conftest import spawn_cli

    done = spawn_cli(
        env={
            "_POWSOO_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(index),
        }
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_command_names_complete():
    assert complete("powsoo mint", 1) == ["mint-token"]


def test_demo_widget_ids_complete():
    assert set(complete("powsoo get-config wid_no", 2)) == {
        "wid_noplatform",
        "wid_noagent",
    }


def test_error_codes_complete():
    assert complete("powsoo explain plan_", 2) == ["plan_limit_exceeded"]
