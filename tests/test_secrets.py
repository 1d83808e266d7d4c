"""No token leaks: not in what any command prints, not in what it writes.

Every command runs against real sandboxes, `--debug` included. Each run
starts with nothing registered for redaction, as a fresh process would, and
everything printed, plus every file under the test's config, state and work
folders, is scanned for each token the sandboxes minted. A token may appear
in full only on stdout when the user asked for it (`mint-token --json` or
`--show-secrets`), and in the owner-only file that remembers the session.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from powsoo_cli import session_store
from powsoo_cli.client import PowsooClient
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.sandbox.server import RunningSandbox, start_in_thread
from powsoo_cli.sandbox.state import SandboxConfig, SandboxState
from tests.conftest import TEST_HEARTBEAT
from tests.test_watch_events import WITH_CTRL_C

ORIGIN = "https://shop.example"
SHOP = ["--origin", ORIGIN]
# Made-up tokens a user might type: they are secrets too.
WRONG_TOKEN = "sst_" + "Wr0ngT0ken" * 3 + "xy"
# The shapes of the sandbox's tokens, for runs whose sandbox the test cannot
# see (the embedded one): shortened stubs are far shorter than these.
FULL_TOKEN = re.compile(r"sst_[A-Za-z0-9_\-]{20,}|rtc_sandbox_[A-Za-z0-9_\-]{12,}")
PATIENCE = 10.0


def state_of(running: RunningSandbox) -> SandboxState:
    return running._server.sandbox_state  # type: ignore[attr-defined, no-any-return]


def minted_tokens(*sandboxes: RunningSandbox) -> set[str]:
    tokens = {WRONG_TOKEN}
    for running in sandboxes:
        for session in state_of(running).sessions.values():
            tokens |= {session.session_token, session.access_token}
    return tokens


@dataclass
class Output:
    """What one run printed, and whether the user asked for tokens on stdout."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    secrets_asked: bool = False


@dataclass
class Transcript:
    outputs: list[Output] = field(default_factory=list)

    def leaks(self, tokens: set[str]) -> list[str]:
        found = []
        for output in self.outputs:
            streams = {"stderr": output.stderr, "stdout": output.stdout}
            if output.secrets_asked:
                del streams["stdout"]
            for name, text in streams.items():
                shown = {t for t in tokens if t in text}
                shown |= set(FULL_TOKEN.findall(text))
                found += [f"{' '.join(output.args)} ({name}): {t}" for t in shown]
        return found


@pytest.fixture
def transcript() -> Transcript:
    return Transcript()


@pytest.fixture
def cli(run_cli, monkeypatch, transcript) -> Callable[..., Output]:
    """Run the CLI in this process, as a fresh process would: nothing known to
    the redactor beforehand. Every run lands in the transcript."""

    def run(*args: str, secrets_asked: bool = False, **env: str) -> Output:
        monkeypatch.setattr("powsoo_cli.redact._registered", set())
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = run_cli(*args)
        output = Output(
            args, result.exit_code, result.stdout, result.stderr, secrets_asked
        )
        transcript.outputs.append(output)
        return output

    return run


def spawn(transcript: Transcript, *args: str) -> Callable[[], Output]:
    """Start ``powsoo ARGS`` as a child process; the result is the output."""
    child = subprocess.Popen(
        [sys.executable, "-m", "powsoo_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )

    def finish() -> Output:
        try:
            stdout, stderr = child.communicate(timeout=PATIENCE)
        finally:
            if child.poll() is None:
                child.kill()
                child.communicate()
        output = Output(args, child.returncode, stdout, stderr)
        transcript.outputs.append(output)
        return output

    return finish


def written_files() -> Iterator[Path]:
    for variable in ("POWSOO_CONFIG_DIR", "POWSOO_STATE_DIR"):
        folder = Path(os.environ[variable])
        if folder.exists():
            yield from (path for path in folder.rglob("*") if path.is_file())


@pytest.fixture
def expiring() -> Iterator[RunningSandbox]:
    """A sandbox whose session tokens lapse after one second."""
    config = SandboxConfig(heartbeat_interval=TEST_HEARTBEAT, token_ttl=1)
    with start_in_thread(config) as running:
        yield running


def test_no_command_shows_or_stores_a_token_unless_asked(
    sandbox, expiring, cli, transcript, tmp_path, monkeypatch
):
    api = ["--base-url", sandbox.url]

    # A session on the short-lived sandbox, minted first so that it has
    # lapsed by the time the error paths below use it.
    lapsing = cli("--base-url", expiring.url, "mint-token", "wid_demo", *SHOP)
    lapsed = session_store.load()
    assert lapsing.exit_code == ExitCode.SUCCESS and lapsed is not None

    # mint-token: readable, --json, --show-secrets, --debug; the last is saved.
    asked = cli(*api, "mint-token", "wid_demo", *SHOP, "--json", secrets_asked=True)
    minted = json.loads(asked.stdout)
    assert minted["sessionToken"].startswith("sst_")
    shown = cli(
        *api, "mint-token", "wid_demo", *SHOP, "--show-secrets", secrets_asked=True
    )
    assert FULL_TOKEN.search(shown.stdout)
    cli(*api, "mint-token", "wid_demo", *SHOP)
    saving = cli("--debug", *api, "mint-token", "wid_demo", *SHOP)
    saved = session_store.load()
    assert saving.exit_code == ExitCode.SUCCESS and saved is not None
    assert saved.session_token in state_of(sandbox).by_token

    # watch-events on the saved session, each view, and a pasted stream URL.
    watch = ["watch-events", "--max-events", "1"]
    for view in ([], ["--json"], ["--raw"]):
        assert cli(*watch, *view).exit_code == ExitCode.SUCCESS
    assert cli("--debug", *watch, "--json").exit_code == ExitCode.SUCCESS
    pasted = f"{sandbox.url}/v1/sessions/{saved.call_id}/stream?token="
    pasted += saved.session_token
    assert cli("--debug", "watch-events", pasted, "--max-events", "1").exit_code == 0
    assert cli("watch-events", pasted, "--max-events", "1").exit_code == 0

    # send-card (a child process) and post-result answering it, the widget
    # listening on the stream the whole time.
    with (
        PowsooClient(sandbox.url) as widget,
        widget.open_stream(saved.call_id, saved.session_token) as stream,
    ):
        lines = stream.iter_lines()
        sending = spawn(
            transcript, "--debug", *api, "send-card", saved.call_id,
            "--title", "Your email", "--field", "Email=jane@example.org",
            "--action", "Confirm=confirm",
        )  # fmt: skip
        tool_call = next(
            json.loads(line[6:]) for line in lines if '"tool_call"' in line
        )
        posted = cli(
            "--debug", "post-result", "-t", tool_call["toolCallId"],
            "-a", "confirm", "-f", "Email=jane@example.org",
        )  # fmt: skip
        sent = sending()
    assert posted.exit_code == ExitCode.SUCCESS, posted.stderr
    assert sent.exit_code == ExitCode.SUCCESS, sent.stderr

    # diagnose: readable with --junit, --json, --debug; and on the embedded
    # sandbox, whose tokens only the shape scan can recognise.
    junit = tmp_path / "report.xml"
    diagnose = ["diagnose", "wid_demo", *SHOP, "--heartbeat-wait", "1"]
    assert cli(*api, *diagnose, "--junit", str(junit)).exit_code == 0
    assert cli("--debug", *api, *diagnose, "--json").exit_code == 0
    embedded = ["--env", "sandbox", "--debug"]
    assert cli(*embedded, *diagnose, "--json").exit_code == ExitCode.SUCCESS
    assert cli(*embedded, "mint-token", "wid_demo", *SHOP).exit_code == 0
    assert junit.is_file()

    # config show with the token in the environment, and the quiet commands.
    token_env = {"POWSOO_SESSION_TOKEN": saved.session_token}
    assert cli("config", "show", **token_env).exit_code == ExitCode.SUCCESS
    assert cli("config", "show", "--json").exit_code == ExitCode.SUCCESS
    assert cli("--debug", "config", "show").exit_code == ExitCode.SUCCESS
    assert cli("--debug", *api, "get-config", "wid_demo", *SHOP).exit_code == 0
    cli("check-origin", ORIGIN, "--allowed", "shop.example")
    cli("explain", "invalid_session_token")
    cli("completion", "bash")

    # The token in the environment is used by the per-call commands.
    assert cli("--debug", *watch).exit_code == ExitCode.SUCCESS
    cli("--debug", "post-result", "-t", "tc_" + "0" * 16, "-a", "confirm")

    # Error paths: a wrong token, a token where an argument goes, a lapsed one.
    monkeypatch.delenv("POWSOO_SESSION_TOKEN")
    wrong = ["--token", WRONG_TOKEN]
    refused = [
        cli("--debug", "watch-events", saved.call_id, *wrong),
        cli("watch-events", saved.call_id, *wrong, "--json"),
        cli(
            "--debug",
            "post-result",
            saved.call_id,
            *wrong,
            "-t",
            "tc_" + "1" * 16,
            "-a",
            "x",
        ),
        cli("watch-events", saved.call_id, **{"POWSOO_SESSION_TOKEN": WRONG_TOKEN}),
    ]
    assert {r.exit_code for r in refused} == {ExitCode.TOKEN_REJECTED}
    misplaced = cli("watch-events", saved.call_id, saved.session_token)
    assert misplaced.exit_code == ExitCode.USAGE
    misplaced = cli("post-result", "--status", WRONG_TOKEN, *wrong)
    assert misplaced.exit_code == ExitCode.USAGE

    session = state_of(expiring).sessions[lapsed.call_id]
    time.sleep(max(0.0, session.expires_at - time.time()) + 0.05)
    back = ["--base-url", expiring.url]
    expired = [
        cli("--debug", *back, "watch-events", lapsed.call_id,
            "--token", lapsed.session_token),
        cli("--debug", *back, "post-result", lapsed.call_id,
            "--token", lapsed.session_token, "-t", "tc_" + "1" * 16, "-a", "x"),
    ]  # fmt: skip
    assert {r.exit_code for r in expired} == {ExitCode.TOKEN_REJECTED}
    assert "invalid_session_token" in expired[0].stderr

    # Nothing above printed a token unasked; the runs that were asked did.
    tokens = minted_tokens(sandbox, expiring)
    assert minted["sessionToken"] in tokens and minted["accessToken"] in tokens
    assert transcript.leaks(tokens) == []

    # Files: the saved session holds its own session token and nothing else
    # secret; every other file, the JUnit report included, holds none.
    state_file = session_store.state_file()
    files = [*written_files(), junit]
    assert state_file in files
    for path in files:
        text = path.read_text(encoding="utf-8")
        allowed = {saved.session_token} if path == state_file else set()
        assert {t for t in tokens if t in text} == allowed, path
        assert set(FULL_TOKEN.findall(text)) == allowed, path


def test_the_saved_session_is_readable_by_its_owner_only(sandbox, cli):
    folder = session_store.state_dir()
    assert not folder.exists()

    # Even where files are made world-readable by default.
    previous = os.umask(0)
    try:
        result = cli("--base-url", sandbox.url, "mint-token", "wid_demo", *SHOP)
    finally:
        os.umask(previous)

    assert result.exit_code == ExitCode.SUCCESS
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(session_store.state_file().stat().st_mode) == 0o600


def test_a_saved_session_replacing_a_readable_file_is_owner_only(sandbox, cli):
    path = session_store.state_file()
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_text("{}")
    path.chmod(0o644)

    result = cli("--base-url", sandbox.url, "mint-token", "wid_demo", *SHOP)

    assert result.exit_code == ExitCode.SUCCESS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_the_sandbox_log_never_shows_a_token():
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [sys.executable, "-c", WITH_CTRL_C, "--debug", "sandbox", "--port", "0",
             "--heartbeat-interval", "0.05", "--hold-timeout", "0.3"],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=dict(os.environ),
            start_new_session=True,
        )  # fmt: skip
        try:
            url = sandbox_url(log)
            tokens = drive_every_route(url)
        finally:
            child.send_signal(signal.SIGINT)
            child.wait(PATIENCE)
        text = os.pread(log.fileno(), 1 << 20, 0).decode()

    assert child.returncode == ExitCode.INTERRUPTED
    # The log did record the traffic, hidden reasons included.
    assert "/stream 200" in text and "reason=token_unknown" in text
    assert "show-card 504" in text and "/results 404" in text
    assert [t for t in tokens if t in text] == []
    assert FULL_TOKEN.findall(text) == []
    assert "token=" not in text


def sandbox_url(log: Any) -> str:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        found = re.search(
            r"http://[\d.]+:\d+", os.pread(log.fileno(), 4096, 0).decode()
        )
        if found:
            return found.group(0)
        time.sleep(0.01)
    raise AssertionError("the sandbox never said where it listens")


def drive_every_route(url: str) -> list[str]:
    """Traffic with tokens in headers, in query strings and in bodies."""
    with httpx.Client(base_url=url, timeout=PATIENCE) as http:
        origin = {"origin": ORIGIN}
        body = http.post(
            "/v1/voice-tokens", json={"widgetId": "wid_demo"}, headers=origin
        )
        minted = body.json()
        call, token = minted["callId"], minted["sessionToken"]
        stream = f"/v1/sessions/{call}/stream"
        results = f"/v1/sessions/{call}/results"
        result = {
            "toolCallId": "tc_" + "2" * 16,
            "result": {"status": "skipped", "action": "skip"},
        }

        with http.stream("GET", stream, params={"token": token}) as response:
            assert response.status_code == 200
            next(response.iter_lines())
        header = {"x-powsoo-session-token": token}
        with http.stream("GET", stream, headers=header) as response:
            lines = response.iter_lines()  # kept: dropping it closes the stream
            next(lines)
            show = http.post(
                "/v1/retell/tools/show-card",
                json={"name": "powsoo_show_card", "call": {"call_id": call},
                      "args": {"title": "t", "actions": []}},
            )  # fmt: skip
        assert show.status_code == 504
        assert (
            http.post(results, json=result, params={"token": token}).status_code == 404
        )
        assert http.post(results, json=result, headers=header).status_code == 404
        for wrong in ({"token": WRONG_TOKEN}, {"token": minted["accessToken"]}):
            assert http.get(stream, params=wrong).status_code == 401
        assert (
            http.get(
                stream, headers={"x-powsoo-session-token": WRONG_TOKEN}
            ).status_code
            == 401
        )
        http.options(stream, headers={**origin, "access-control-request-method": "GET"})
    return [token, minted["accessToken"], WRONG_TOKEN]


def test_a_debug_traceback_shows_no_local_variable_and_no_token(
    sandbox, cli, monkeypatch
):
    with PowsooClient(sandbox.url) as client:
        minted = client.mint_voice_token("wid_demo", ORIGIN).body
    token = minted.sessionToken

    def breaks(
        self: Any, call_id: str, session_token: str, *args: Any, **kw: Any
    ) -> Any:
        secret_copy = session_token  # a local that a locals dump would show
        raise RuntimeError(f"lost the connection while sending {secret_copy}")

    monkeypatch.setattr(PowsooClient, "post_result", breaks)
    result = cli(
        "--debug", "--base-url", sandbox.url, "post-result", minted.callId,
        "--token", token, "-t", "tc_" + "3" * 16, "-a", "confirm",
    )  # fmt: skip

    assert result.exit_code == ExitCode.PROBLEM
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: lost the connection while sending sst_" in result.stderr
    assert token not in result.stderr
    assert "secret_copy =" not in result.stderr
    assert "locals" not in result.stderr.lower()
