"""Ctrl-C, SIGTERM and closed pipes, on real child processes.

Every long-running command stops with exit code 130 when interrupted, prints
nothing more on stderr than it had printed before the signal (the sandbox's
log only notes that it stops), and leaves no connection open: the servers
here note when each client closes its side. A
reader that closes stdout early (``| head -1``) ends a command with exit code
141, or 0 when it had finished writing first, and never with a traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from powsoo_cli import session_store
from powsoo_cli.__main__ import BROKEN_PIPE_EXIT
from powsoo_cli.client import PowsooClient
from powsoo_cli.errors import ApiError
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.render.events import JsonLinesWriter
from powsoo_cli.sandbox.server import RunningSandbox, start_in_thread
from powsoo_cli.sandbox.state import SandboxConfig, SandboxState
from powsoo_cli.sse import SSEMessage
from tests.test_watch_events import WITH_CTRL_C

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ORIGIN = "https://shop.example"
SIGNALS = [
    pytest.param(signal.SIGINT, id="SIGINT"),
    pytest.param(signal.SIGTERM, id="SIGTERM"),
]
# Generous: these only bound a wait for something that happens at once.
PATIENCE = 10.0


# Servers that see the client's side of every connection


class Relay:
    """A TCP server on 127.0.0.1 that forwards each connection to ``target``
    or, without one, accepts it and never answers. Either way it notes when
    the client closes its side of each connection."""

    def __init__(self, target: str | None = None) -> None:
        self.target = _address(target) if target else None
        self.received = threading.Event()  # a client sent its first bytes
        self._closed: list[threading.Event] = []
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        # Closing a socket does not wake a thread blocked in accept(): poll.
        self._listener.settimeout(0.05)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    @property
    def connections(self) -> int:
        return len(self._closed)

    def all_closed_by_client(self, timeout: float = PATIENCE) -> bool:
        deadline = time.monotonic() + timeout
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in self._closed)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(PATIENCE)
        self._listener.close()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            closed = threading.Event()
            self._sockets.append(client)
            self._closed.append(closed)
            upstream = None
            if self.target is not None:
                upstream = socket.create_connection(self.target)
                self._sockets.append(upstream)
                back = threading.Thread(
                    target=self._pump_back, args=(upstream, client), daemon=True
                )
                back.start()
            threading.Thread(
                target=self._pump, args=(client, upstream, closed), daemon=True
            ).start()

    def _pump(
        self, client: socket.socket, upstream: socket.socket | None, closed: Any
    ) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                self.received.set()
                if upstream is not None:
                    upstream.sendall(data)
        closed.set()
        if upstream is not None:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)

    @staticmethod
    def _pump_back(upstream: socket.socket, client: socket.socket) -> None:
        # Half-close only: the client's own close is what the test watches.
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                client.sendall(data)
            client.shutdown(socket.SHUT_WR)


def _address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@pytest.fixture
def quiet_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of its own whose clocks never fire during a test."""
    config = SandboxConfig(heartbeat_interval=30, hold_timeout=30)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
def relay(quiet_sandbox: RunningSandbox) -> Iterator[Relay]:
    server = Relay(quiet_sandbox.url)
    yield server
    server.close()


@pytest.fixture
def staller() -> Iterator[Relay]:
    server = Relay()
    yield server
    server.close()


def state_of(running: RunningSandbox) -> SandboxState:
    return running._server.sandbox_state  # type: ignore[attr-defined, no-any-return]


def mint(url: str) -> tuple[str, str]:
    with PowsooClient(url) as client:
        minted = client.mint_voice_token("wid_demo", ORIGIN).body
    return minted.callId, minted.sessionToken


def remember(url: str, call_id: str, token: str) -> None:
    """Save the session as mint-token does, so the commands follow it as
    their own call (with no warning about a call minted elsewhere)."""
    session_store.save(
        session_store.SavedSession(
            base_url=url,
            widget_id="wid_demo",
            origin=ORIGIN,
            call_id=call_id,
            session_token=token,
            expires_at="2099-01-01T00:00:00+00:00",
        )
    )


# Running a command and interrupting it


class Child:
    """``powsoo ARGS`` as a child that takes Ctrl-C, in a session of its own
    so that a Ctrl-C typed at the test run does not reach it as well. Its
    stderr goes to a file, so what it said before a signal can be read."""

    def __init__(self, *args: str) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by `end`
        self.process = subprocess.Popen(
            [sys.executable, "-c", WITH_CTRL_C, *args],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=dict(os.environ),
            start_new_session=True,
        )

    def stderr_so_far(self) -> str:
        return os.pread(self._log.fileno(), 1 << 20, 0).decode()

    def first_line(self) -> str:
        stdout = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], PATIENCE)
        assert ready, f"the child printed nothing: {self.stderr_so_far()}"
        return stdout.readline()

    def interrupt(self, signum: int) -> Stopped:
        """Send ``signum`` and collect what the child printed until it ended."""
        before = self.stderr_so_far()
        self.process.send_signal(signum)
        stdout, _ = self.process.communicate(timeout=PATIENCE)
        stopped = Stopped(self.process.returncode, stdout, before, self.stderr_so_far())
        self.end()
        return stopped

    def end(self) -> None:
        if self._log.closed:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        self._log.close()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Child]]:
    """Start children; any still running when the test ends are killed."""
    children: list[Child] = []

    def start(*args: str) -> Child:
        children.append(Child(*args))
        return children[-1]

    yield start
    for child in children:
        child.end()


@dataclass
class Stopped:
    exit_code: int
    stdout: str
    stderr_before: str
    stderr: str

    def assert_quiet(self) -> None:
        # The contract: an interruption adds nothing at all to stderr.
        assert self.stderr == self.stderr_before, self.stderr
        assert self.exit_code == ExitCode.INTERRUPTED, self.stderr


def wait_until(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


# Ctrl-C and SIGTERM


@pytest.mark.parametrize("signum", SIGNALS)
def test_an_interrupted_watch_exits_130_silently_and_leaves_the_stream(
    signum, quiet_sandbox, relay, spawn
):
    call_id, token = mint(quiet_sandbox.url)
    remember(relay.url, call_id, token)
    subscribers = state_of(quiet_sandbox).subscribers

    child = spawn("watch-events", "--json")
    assert json.loads(child.first_line())["type"] == "ready"
    stopped = child.interrupt(signum)

    stopped.assert_quiet()
    assert stopped.stdout == ""
    assert relay.all_closed_by_client()
    wait_until(lambda: call_id not in subscribers, "the sandbox dropped the stream")
    with (
        PowsooClient(quiet_sandbox.url) as client,
        client.open_stream(call_id, token) as response,
    ):
        again = next(response.iter_lines())
    assert json.loads(again.removeprefix("data: "))["type"] == "ready"


@pytest.mark.parametrize("signum", SIGNALS)
def test_an_interrupted_send_card_exits_130_silently_while_the_card_is_held(
    signum, quiet_sandbox, relay, spawn
):
    call_id, token = mint(quiet_sandbox.url)
    remember(relay.url, call_id, token)
    state = state_of(quiet_sandbox)
    with (
        PowsooClient(quiet_sandbox.url) as client,
        client.open_stream(call_id, token),
    ):
        child = spawn("send-card", "--title", "Hold on", "--action", "OK=ok")
        wait_until(lambda: state.held, "the sandbox held the webhook")
        stopped = child.interrupt(signum)

    stopped.assert_quiet()
    assert stopped.stdout == ""
    assert relay.connections == 1
    assert relay.all_closed_by_client()


@pytest.mark.parametrize("signum", SIGNALS)
def test_an_interrupted_post_result_exits_130_silently_when_no_answer_comes(
    signum, staller, spawn
):
    child = spawn(
        "--base-url", staller.url, "post-result", "call_" + "0" * 24,
        "--token", "sst_" + "A" * 32, "-t", "tc_" + "0" * 16, "-a", "confirm",
    )  # fmt: skip
    assert staller.received.wait(PATIENCE), "the request never arrived"
    stopped = child.interrupt(signum)

    stopped.assert_quiet()
    assert stopped.stdout == ""
    assert staller.all_closed_by_client(timeout=1)


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_diagnose_interrupted_during_the_heartbeat_wait_exits_130_silently(
    signum, quiet_sandbox, relay, spawn
):
    subscribers = state_of(quiet_sandbox).subscribers
    child = spawn(
        "--base-url", relay.url, "diagnose", "wid_demo", "--origin", ORIGIN,
        "--heartbeat-wait", "30",
    )  # fmt: skip
    # Once the stream is open, diagnose waits for a heartbeat that is 30 s off.
    wait_until(lambda: subscribers, "diagnose opened the stream")
    stopped = child.interrupt(signum)

    stopped.assert_quiet()
    assert stopped.stdout == ""
    assert relay.all_closed_by_client()
    wait_until(lambda: not subscribers, "the sandbox dropped the stream")


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_diagnose_of_several_widgets_interrupted_exits_130_silently(
    signum, quiet_sandbox, relay, tmp_path, spawn
):
    lines = [f"wid_demo {ORIGIN}", f"wid_noagent {ORIGIN}"] * 3
    widgets = tmp_path / "widgets.txt"
    widgets.write_text("\n".join(lines) + "\n")
    subscribers = state_of(quiet_sandbox).subscribers
    child = spawn(
        "--base-url", relay.url, "diagnose", "--from", str(widgets),
        "--heartbeat-wait", "30",
    )  # fmt: skip
    wait_until(lambda: len(subscribers) == 3, "every healthy widget's stream")
    stopped = child.interrupt(signum)

    stopped.assert_quiet()
    assert stopped.stdout == ""
    assert relay.connections >= 3
    assert relay.all_closed_by_client()
    wait_until(lambda: not subscribers, "the sandbox dropped every stream")


@pytest.mark.parametrize("signum", SIGNALS)
def test_a_stopped_sandbox_exits_130_and_ends_its_streams_and_held_cards(signum, spawn):
    child = spawn(
        "sandbox", "--port", "0", "--heartbeat-interval", "30", "--hold-timeout", "30"
    )
    wait_until(lambda: "Ctrl-C" in child.stderr_so_far(), "the sandbox started")
    url = re.search(r"http://[\d.:]+", child.stderr_so_far())
    assert url is not None
    call_id, token = mint(url.group(0))

    # A widget on the stream, and Retell waiting for the answer to a card.
    outcome: dict[str, Any] = {}
    card = {"title": "Hold on", "actions": [{"label": "OK", "value": "ok"}]}

    def retell() -> None:
        with PowsooClient(url.group(0)) as client:
            try:
                outcome["reply"] = client.show_card(call_id, card, wait=PATIENCE)
            except ApiError as exc:
                outcome["error"] = exc

    waiting = threading.Thread(target=retell)
    with (
        PowsooClient(url.group(0), read_timeout=PATIENCE) as widget,
        widget.open_stream(call_id, token) as response,
    ):
        lines = response.iter_lines()
        assert "ready" in next(lines)
        waiting.start()
        assert "tool_call" in next(line for line in lines if line)
        stopped = child.interrupt(signum)
        rest = [line for line in lines if line]
    waiting.join(PATIENCE)

    # Its log goes on to say that it stops, but not with an error.
    assert stopped.exit_code == ExitCode.INTERRUPTED
    added = stopped.stderr.removeprefix(stopped.stderr_before)
    assert not re.search(r"error|exception|cancel|traceback", added, re.I), added
    assert stopped.stdout == ""
    assert rest == []  # the stream ended cleanly, nothing after the card
    assert outcome["error"].status == 503


def test_an_interrupt_right_after_a_write_does_not_print_the_lines_again():
    class InterruptedOnce(io.StringIO):
        # Ctrl-C arriving the moment the lines have gone out.
        def write(self, text: str) -> int:
            written = super().write(text)
            if written == len(self.getvalue()):
                raise KeyboardInterrupt
            return written

    stream = InterruptedOnce()
    writer = JsonLinesWriter(stream)
    writer.add_batch([SSEMessage("message", '{"type":"ready"}', "", None)])
    with pytest.raises(KeyboardInterrupt):
        writer.flush()
    writer.close()  # as the command's `finally` does

    assert stream.getvalue() == '{"type":"ready","_event":"message"}\n'


def test_ctrl_c_while_a_module_builds_a_class_is_still_an_interruption(
    run_cli, monkeypatch
):
    class Field:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    def importing(*args: Any, **kwargs: Any) -> Any:
        # What an import that Ctrl-C cuts short runs into; Python before 3.12
        # reports it as a RuntimeError caused by the KeyboardInterrupt.
        class CheckResult:
            request_ids = Field()

    monkeypatch.setattr("powsoo_cli.runtime.open_client", importing)
    result = run_cli("--env", "sandbox", "get-config", "wid_demo", "-o", ORIGIN)

    assert result.exit_code == ExitCode.INTERRUPTED
    assert result.stderr == ""


# Closed pipes


def busy_stream_server() -> tuple[str, Callable[[], None]]:
    """An event stream that sends heartbeats as fast as the reader takes them."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    beats = b"".join(
        b'data: {"type":"heartbeat","at":"2025-01-01T00:00:00Z","n":%d}\n\n' % n
        for n in range(200)
    )

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(None)
            request = b""
            while b"\r\n\r\n" not in request:
                if not (chunk := conn.recv(65536)):
                    return
                request += chunk
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"connection: close\r\n\r\n"
                b'data: {"type":"ready","callId":"call_busy"}\n\n'
            )
            while not stop.is_set():
                conn.sendall(beats)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(PATIENCE)
        listener.close()

    return f"http://127.0.0.1:{listener.getsockname()[1]}", close


@pytest.fixture(scope="module")
def busy_stream() -> Iterator[str]:
    url, close = busy_stream_server()
    yield url
    close()


@pytest.fixture(scope="module")
def widget_list(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pipes") / "widgets.txt"
    path.write_text(f"wid_demo {ORIGIN}\n" * 12)
    return path


def command_lines(
    sandbox_url: str, stream_url: str, widgets: Path
) -> dict[str, list[str]]:
    watch = ["--base-url", stream_url, "watch-events", "call_busy"]
    watch += ["--token", "sst_busy_stream_token"]
    diagnose = ["--base-url", sandbox_url, "diagnose", "--from", str(widgets)]
    diagnose += ["--no-mint"]
    return {
        "explain": ["explain"],
        "explain --json": ["explain", "--json"],
        "config show": ["config", "show"],
        "watch-events --json": [*watch, "--json"],
        "watch-events": watch,
        "diagnose --from": diagnose,
    }


PIPED = [
    "explain",
    "explain --json",
    "config show",
    "watch-events --json",
    "diagnose --from",
]
ALL = [
    "explain",
    "explain --json",
    "config show",
    "watch-events --json",
    "watch-events",
    "diagnose --from",
]


def assert_no_complaint(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert not re.search(r"error|broken pipe|exception", stderr, re.IGNORECASE), stderr


@pytest.mark.parametrize("name", PIPED)
def test_a_command_piped_into_head_stops_quietly(
    name, sandbox, busy_stream, widget_list
):
    args = command_lines(sandbox.url, busy_stream, widget_list)[name]
    line = shlex.join([sys.executable, "-m", "powsoo_cli", *args])
    script = f"{line} | head -1; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
    )

    shown, code = done.stdout.splitlines()
    assert shown.strip()
    assert int(code) in (BROKEN_PIPE_EXIT, ExitCode.SUCCESS), done.stderr
    assert_no_complaint(done.stderr)


@pytest.mark.parametrize("name", ALL)
def test_a_command_whose_reader_is_gone_exits_141_without_a_complaint(
    name, sandbox, busy_stream, widget_list
):
    args = command_lines(sandbox.url, busy_stream, widget_list)[name]
    # The reading end is closed before the command writes a byte, so the
    # very first write fails: the outcome cannot depend on timing.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "powsoo_cli", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=30,
        )
    finally:
        os.close(write_end)

    assert done.returncode == BROKEN_PIPE_EXIT, done.stderr
    assert_no_complaint(done.stderr)
