"""Shared fixtures: an isolated environment, a real sandbox, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from powsoo_cli import console
from powsoo_cli.sandbox.server import RunningSandbox, start_in_thread
from powsoo_cli.sandbox.state import SandboxConfig

# Short clocks so that heartbeats and webhook timeouts happen within a test.
TEST_HEARTBEAT = 0.2
TEST_HOLD_TIMEOUT = 3.0


@pytest.fixture(autouse=True)
def isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No user config, state, colour or proxy leaks into a test."""
    for name in list(os.environ):
        if name.startswith("POWSOO_") or name in {
            "FORCE_COLOR",
            "CLICOLOR_FORCE",
            "GITHUB_ACTIONS",
        }:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("POWSOO_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("POWSOO_STATE_DIR", str(home / "state"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    console.reset()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """One real sandbox on a loopback port, shared by the whole session."""
    config = SandboxConfig(
        heartbeat_interval=TEST_HEARTBEAT, hold_timeout=TEST_HOLD_TIMEOUT
    )
    with start_in_thread(config) as running:
        yield running


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capfd: pytest.CaptureFixture[str]) -> object:
    """Run ``powsoo ARGS`` in this process; stdout and stderr kept apart."""
    from powsoo_cli.__main__ import main

    def run(*args: str) -> Result:
        console.reset()
        capfd.readouterr()
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        else:  # pragma: no cover - main always exits
            code = 0
        captured = capfd.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def spawn_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30, **kw: object
) -> subprocess.CompletedProcess[str]:
    """Run ``powsoo ARGS`` as a real child process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "powsoo_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
def run_process() -> object:
    """`spawn_cli` as a fixture: ``run_process(*args, env=..., timeout=...)``."""
    return spawn_cli
